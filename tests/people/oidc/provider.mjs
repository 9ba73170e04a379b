// A real OpenID Connect provider for the tests: oidc-provider (a certified implementation)
// with one confidential client and a few people. The tests start it with its settings as
// JSON in OIDC_TEST_CONFIG: {port, client_id, client_secret, redirect_uri, accounts:
// {login: {email, name, groups}}}. Its development sign-in page takes any password for a
// known login; it prints "ready" once it listens.
import Provider from "oidc-provider";

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "groups"],
  },
  // The claims of the scopes asked for go into the ID token itself, as Dex and Keycloak do.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    const person = config.accounts[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: person.email, email_verified: true, name: person.name, groups: person.groups };
      },
    };
  },
  cookies: { keys: ["mailpass-test-oidc-cookies"] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
});

provider.listen(config.port, "127.0.0.1", () => {
  console.log("ready");
});
