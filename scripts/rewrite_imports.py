"""Rewrites imports of the library's old flat modules to the domain packages (issue 18).

For a branch that started before the reshape: after ``git merge main``, run

    .venv/bin/python scripts/rewrite_imports.py [paths...]  # default: libs cli services tools tests

then ``make format`` and ``make lint``. It is idempotent (names already in the new layout
are left alone), so running it over files that were rewritten already changes nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "libs" / "common"

# Old module -> new module.
MODULES = {
    "documents": "messages.models",
    "messages": "messages.service",
    "message_search": "messages.search",
    "events": "messages.events",
    "outbox": "messages.due",
    "scheduled": "messages.scheduled",
    "retention": "messages.retention",
    "bodies": "messages.attachment_store",
    "attachments": "messages.attachments",
    "ids": "messages.ids",
    "jobs": "platform.jobs",
    "idempotency": "messages.idempotency",
    "sequences": "messages.sequences",
    "stats": "messages.stats",
    "signed_links": "messages.signed_links",
    "validation": "messages.validation",
    "provider_config": "providers.config",
    "providers": "providers.service",
    "delivery": "providers.delivery",
    "circuits": "providers.circuits",
    "limits": "providers.limits",
    "credential_rotation": "providers.credential_rotation",
    "event_hooks": "providers.event_hooks",
    "accounts": "tenants.accounts",
    "api_keys": "tenants.api_keys",
    "console_auth": "tenants.console_auth",
    "suppressions": "suppressions.service",
    "db": "platform.db",
    "broker": "platform.broker",
    "settings": "platform.settings",
    "telemetry": "platform.telemetry",
    "metrics": "platform.metrics",
    "management": "platform.management",
    "workers": "platform.workers",
    "cache": "platform.cache",
    "lifecycle": "platform.lifecycle",
    "errors": "platform.errors",
    "egress": "platform.egress",
    "security": "platform.crypto",
}
# Names that moved from one module to another: (old module, name) -> new module.
NAMES = {
    ("mailpass_common.messages.models", "Collections"): "mailpass_common.platform.db",
    ("mailpass_common.messages.models", "MessageKind"): "mailpass_common.platform.jobs",
    ("mailpass_common.platform.jobs", "SendReply"): "mailpass_common.messages.replies",
    (
        "mailpass_common.providers.delivery.base",
        "Attachment",
    ): "mailpass_common.messages.attachments",
    **{
        ("mailpass_common.platform.crypto", name): "mailpass_common.tenants.api_keys"
        for name in (
            "Permission",
            "NewApiKey",
            "generate_api_key",
            "hash_api_key",
            "LIVE_PREFIX",
            "TEST_PREFIX",
        )
    },
    **{
        ("mailpass_common.platform.errors", name): "mailpass_gateway.errors"
        for name in ("ApiError", "error_response", "http_error_response")
    },
}
# Old modules whose name is now a package: `from mailpass_common.messages import claim`.
BECAME_PACKAGES = {"messages", "providers", "suppressions"}


def exists(dotted: str) -> bool:
    path = LIB.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def new_module(dotted: str) -> str:
    """``mailpass_common.x.y...`` in the new layout (unchanged when it is already there)."""
    parts = dotted.split(".")
    if parts[0] != "mailpass_common" or len(parts) < 2:
        return dotted
    if parts[1] == "cli":
        return ".".join(["mailpass_cli", *parts[2:]])
    if parts[1] in BECAME_PACKAGES:
        # `mailpass_common.messages` alone is ambiguous (the old module or the package).
        if len(parts) == 2 or exists(".".join(parts[:3])):
            return dotted
        return ".".join(["mailpass_common", MODULES[parts[1]], *parts[2:]])
    if exists(".".join(parts[:2])) or parts[1] not in MODULES:
        return dotted
    return ".".join(["mailpass_common", MODULES[parts[1]], *parts[2:]])


FROM = re.compile(r"^(\s*)from (mailpass_common(?:\.\w+)*) import (\([^)]*\)|[^\n]+)$", re.M)
DOTTED = re.compile(r"\bmailpass_common(?:\.\w+)+")


def split_names(body: str) -> list[str]:
    body = re.sub(r"#[^\n]*", "", body).strip().strip("()")
    return [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()]


def rewrite_from(m: re.Match[str]) -> str:
    indent, module, body = m.groups()
    out: dict[str, list[str]] = {}
    changed = False
    for item in split_names(body):
        name = item.split(" as ")[0].strip()
        alias = item.split(" as ")[1].strip() if " as " in item else name
        full = f"{module}.{name}"
        if module == "mailpass_common" or (exists(module) and exists(full)):
            # A module imported by name: `from mailpass_common import messages`.
            target = new_module(full)
            if module == "mailpass_common" and name in BECAME_PACKAGES:
                target = f"mailpass_common.{MODULES[name]}"  # the old module, not the package
            if target == full and module != "mailpass_common":
                out.setdefault(module, []).append(item)
                continue
            changed = True
            pkg, _, mod = target.rpartition(".")
            if not pkg:
                out.setdefault("", []).append(target if alias == target else f"{target} as {alias}")
                continue
            out.setdefault(pkg, []).append(mod if alias == mod else f"{mod} as {alias}")
            continue
        target = new_module(module)
        old_module = module.removeprefix("mailpass_common.")
        if old_module in BECAME_PACKAGES:  # `from mailpass_common.providers import ProviderCache`
            target = f"mailpass_common.{MODULES[old_module]}"
        target = NAMES.get((target, name), target)
        changed = changed or target != module
        out.setdefault(target, []).append(item)
    if not changed:
        return m.group(0)
    lines = []
    for pkg, items in out.items():
        if not pkg:
            lines += [f"{indent}import {i}" for i in items]
        else:
            lines.append(f"{indent}from {pkg} import {', '.join(items)}")
    return "\n".join(lines)


def rewrite(text: str) -> str:
    text = FROM.sub(rewrite_from, text)
    # `import mailpass_common.x` and dotted names in strings (patch targets, docs); the
    # `from ... import` lines are done.
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("from mailpass_common"):
            lines[i] = DOTTED.sub(lambda m: new_module(m.group(0)), line)
    return "\n".join(lines)


def main() -> None:
    paths = sys.argv[1:] or ["libs", "cli", "services", "tools", "tests"]
    files = subprocess.run(
        ["git", "ls-files", *paths], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    changed = 0
    for name in files:
        path = ROOT / name
        if path.suffix not in {".py", ".md"} or not path.is_file():
            continue
        text = path.read_text()
        new = rewrite(text)
        if new != text:
            path.write_text(new)
            changed += 1
    print(f"rewrote {changed} files")


if __name__ == "__main__":
    main()
