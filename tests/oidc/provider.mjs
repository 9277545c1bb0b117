// A real OpenID provider for the tests: panva's oidc-provider (OpenID-certified), set up to issue
// tokens shaped like HelseID's — JWT access tokens for one API audience, DPoP-bound, with the
// helseid:// claims — to clients that authenticate with private_key_jwt.
//
//   node provider.mjs keygen ES256|RS256      prints {"private": JWK, "public": JWK, "pem": PKCS#8}
//   node provider.mjs serve CONFIG.json       serves until killed; prints "listening PORT" when ready
//
// CONFIG: { port (0: any), audience, scopes: "a b", jwks: {keys: [private JWKs; the first signs]},
//           clients: [client metadata + orgnr_parent/orgnr_child], accounts: {sub: {claims}} }
// The tests rotate keys by restarting with another `jwks`, and take the provider down by killing it.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [mode, arg] = process.argv.slice(2);

if (mode === 'keygen') {
  const rsa = arg === 'RS256' || arg === 'PS256';
  const { privateKey, publicKey } = rsa
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const priv = { ...privateKey.export({ format: 'jwk' }), kid, alg: arg, use: 'sig' };
  const pub = { ...publicKey.export({ format: 'jwk' }), kid, alg: arg, use: 'sig' };
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  process.stdout.write(JSON.stringify({ private: priv, public: pub, pem }));
  process.exit(0);
}

const { default: Provider, errors } = await import('oidc-provider');
const { createServer } = await import('node:http');
const cfg = JSON.parse(readFileSync(arg, 'utf8'));
const HELSEID = 'helseid://claims/';

// Listen first: the issuer names the port, which may be chosen by the system.
const server = createServer();
await new Promise((resolve) => server.listen(cfg.port, '127.0.0.1', resolve));
const { port } = server.address();

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: cfg.clients,
  jwks: cfg.jwks,
  extraClientMetadata: { properties: ['orgnr_parent', 'orgnr_child'] },
  async findAccount(ctx, sub) {
    const claims = cfg.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  claims: {
    openid: ['sub'],
    profile: ['name', `${HELSEID}identity/pid`, `${HELSEID}identity/security_level`, `${HELSEID}hpr/hpr_number`],
  },
  scopes: ['openid', 'profile', ...cfg.scopes.split(' ')],
  pkce: { required: () => true },
  // HelseID takes DPoP proofs signed with RSA keys too; the library's default is ES256 and EdDSA.
  enabledJWA: { dPoPSigningAlgValues: ['ES256', 'RS256', 'PS256'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    // HelseID wants a nonce in the DPoP proof of a token request; here the clients registered
    // with dpop_bound_access_tokens (samavvik's web client) are held to that.
    dPoP: {
      enabled: true,
      nonceSecret: randomBytes(32),
      requireNonce: (ctx) => ctx.oidc.client?.dpopBoundAccessTokens === true,
    },
    pushedAuthorizationRequests: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // HelseID's multi-tenant clients name the organisation a person acts for in
    // authorization_details; the access token then carries its number as orgnr_parent.
    richAuthorizationRequests: {
      enabled: true,
      types: {
        helseid_authorization: {
          validate(ctx, detail) {
            const value = detail?.practitioner_role?.organization?.identifier?.value;
            if (typeof value !== 'string' || !/^NO:ORGNR:[0-9]{9}$/.test(value)) {
              throw new errors.InvalidAuthorizationDetails('practitioner_role.organization.identifier.value must be NO:ORGNR:<9 digits>');
            }
          },
        },
      },
      authorizationDetailsForGrantSource: (ctx, code) => (ctx.oidc.params.authorization_details ? JSON.parse(ctx.oidc.params.authorization_details) : undefined),
      authorizationDetailsForAccessToken: (ctx, token, source) => source?.rar,
      authorizationDetailsForIntrospection: (ctx, token) => token.rar,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => cfg.audience,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resource) {
        if (resource !== cfg.audience) throw new errors.InvalidTarget();
        const alg = cfg.jwks.keys[0].alg;
        return { scope: cfg.scopes, audience: cfg.audience, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
      },
    },
  },
  // HelseID puts the client's organisation and the person's identity into the access token.
  async extraTokenClaims(ctx, token) {
    const client = await ctx.oidc.provider.Client.find(token.clientId);
    const extra = {};
    const chosen = token.rar?.find((d) => d.type === 'helseid_authorization')?.practitioner_role?.organization?.identifier?.value;
    if (chosen) extra[`${HELSEID}client/claims/orgnr_parent`] = chosen.split(':').pop();
    else if (client?.orgnr_parent) extra[`${HELSEID}client/claims/orgnr_parent`] = client.orgnr_parent;
    if (client?.orgnr_child) extra[`${HELSEID}client/claims/orgnr_child`] = client.orgnr_child;
    const account = token.accountId && cfg.accounts[token.accountId];
    if (account) {
      for (const [k, v] of Object.entries(account)) if (k.startsWith(HELSEID) || k === 'name') extra[k] = v;
    }
    return extra;
  },
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
server.on('request', provider.callback());
console.log(`listening ${port}`);
