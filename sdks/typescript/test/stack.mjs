// The running stack these tests talk to, from the environment the test driver
// (tests/sdks in the repository) sets: MAILPASS_BASE_URL, MAILPASS_API_KEY and
// MAILPASS_FLAKY_URL, a front that answers each request's first try with 503.
import { MailPass } from "../dist/index.js";

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through pytest tests/sdks`);
  return value;
}

export function client(options = {}) {
  return new MailPass(env("MAILPASS_API_KEY"), { baseUrl: env("MAILPASS_BASE_URL"), ...options });
}

export async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}
