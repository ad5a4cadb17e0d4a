// A real OpenID Connect provider for the production-topology test: the certified `oidc-provider` package,
// configured from deploy/keycloak/oslonac-realm.json so it issues what Keycloak issues in compose — the realm's
// users and roles, the `roles` / `municipalities` / `organisation` claims, the audience of the services, the
// public client `oslonac-web` (authorization code + PKCE S256) and the confidential service-account client
// (client credentials). It is served like Keycloak: under /realms/<realm>/ with Keycloak's endpoint paths, behind
// the proxy that strips /auth, so the issuer is <origin>/auth/realms/<realm>.
//
// Only for tests and trying things out: everything is kept in memory, and the demo users all share the password
// given in OIDC_DEMO_PASSWORD. Environment:
//   OIDC_ISSUER              public issuer, e.g. http://127.0.0.1:8000/auth/realms/oslonac (required)
//   OIDC_PORT, OIDC_HOST     where to listen (default 127.0.0.1:9080)
//   OIDC_DEMO_PASSWORD       the demo users' password (required; the realm's temporary one is not used)
//   OIDC_API_CLIENT_SECRET   the service-account client's secret (required)
//   OIDC_REALM_FILE          the realm (default ../keycloak/oslonac-realm.json beside this file)
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

const issuer = required('OIDC_ISSUER').replace(/\/$/, '');
const demoPassword = required('OIDC_DEMO_PASSWORD');
const apiClientSecret = required('OIDC_API_CLIENT_SECRET');
const port = Number(process.env.OIDC_PORT || 9080);
const host = process.env.OIDC_HOST || '127.0.0.1';
const realmFile = process.env.OIDC_REALM_FILE
  || fileURLToPath(new URL('../keycloak/oslonac-realm.json', import.meta.url));

const realm = JSON.parse(readFileSync(realmFile, 'utf8'));
const publicOrigin = new URL(issuer).origin;
const issuerPath = new URL(issuer).pathname; // /auth/realms/oslonac
const realmPath = `/realms/${realm.realm}`; // what reaches us once the proxy stripped /auth

// The realm's URLs name the compose origin (the client's rootUrl); here they name this run's origin.
function relocate(uri, client) {
  return client.rootUrl ? uri.replace(new URL(client.rootUrl).origin, publicOrigin) : uri;
}

// --- the realm, read as Keycloak reads it --------------------------------------------------------------------

function mapper(client, type) {
  return (client.protocolMappers || []).filter((m) => m.protocolMapper === type);
}

function audienceOf(client) {
  const found = mapper(client, 'oidc-audience-mapper').map((m) => m.config['included.custom.audience']);
  if (found.length !== 1) throw new Error(`client ${client.clientId}: expected one audience mapper`);
  return found[0];
}

function allowedRoles(clientId) {
  const mapping = (realm.scopeMappings || []).find((s) => s.client === clientId);
  return new Set(mapping ? mapping.roles : []);
}

// Claims of a user (or a client's service-account user), as the client's protocol mappers put them in a token.
function claimsFor(user, client) {
  const claims = {};
  const scoped = client.fullScopeAllowed === false ? allowedRoles(client.clientId) : null;
  for (const m of mapper(client, 'oidc-usermodel-realm-role-mapper')) {
    const roles = (user.realmRoles || []).filter((r) => !scoped || scoped.has(r));
    if (roles.length) claims[m.config['claim.name']] = roles;
  }
  for (const m of mapper(client, 'oidc-usermodel-attribute-mapper')) {
    const values = (user.attributes || {})[m.config['user.attribute']];
    if (!values || !values.length) continue;
    claims[m.config['claim.name']] = m.config.multivalued === 'true' ? values : values[0];
  }
  if (user.username && !user.serviceAccountClientId) claims.preferred_username = user.username;
  return claims;
}

const clientsById = new Map(realm.clients.map((c) => [c.clientId, c]));
const users = new Map(realm.users.filter((u) => u.enabled && !u.serviceAccountClientId).map((u) => [u.username, u]));
const serviceAccounts = new Map(
  realm.users.filter((u) => u.serviceAccountClientId).map((u) => [u.serviceAccountClientId, u]),
);

const web = clientsById.get('oslonac-web');
const audience = audienceOf(web);
if (web.attributes?.['pkce.code.challenge.method'] !== 'S256') throw new Error('oslonac-web must require PKCE S256');

const clients = [];
for (const c of realm.clients) {
  if (!c.enabled) continue;
  if (c.publicClient && c.standardFlowEnabled) {
    clients.push({
      client_id: c.clientId,
      client_name: c.name,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: c.redirectUris.map((u) => relocate(u, c)),
      post_logout_redirect_uris: (c.attributes['post.logout.redirect.uris'] || '')
        .split('##')
        .filter(Boolean)
        .map((u) => relocate(u, c)),
    });
  } else if (!c.publicClient && c.serviceAccountsEnabled) {
    clients.push({
      client_id: c.clientId,
      client_name: c.name,
      client_secret: apiClientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    });
  }
}

// --- the provider ---------------------------------------------------------------------------------------------

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

// The one resource server: the Oslonac APIs. Its access tokens are RS256 JWTs whose `aud` is the services'
// OSLONAC_JWT_AUDIENCE, like the realm's audience mapper makes them.
const API_RESOURCE = `urn:oslonac:${audience}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Keycloak's endpoint paths, so the same URLs work against either provider.
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    jwks: '/protocol/openid-connect/certs',
    userinfo: '/protocol/openid-connect/userinfo',
    end_session: '/protocol/openid-connect/logout',
    revocation: '/protocol/openid-connect/revoke',
    introspection: '/protocol/openid-connect/token/introspect',
  },
  scopes: ['openid', 'offline_access', 'profile'],
  claims: {
    openid: ['sub', 'roles', 'municipalities', 'organisation'],
    profile: ['preferred_username', 'name', 'given_name', 'family_name'],
  },
  conformIdTokenClaims: false, // like Keycloak, the ID token carries the mapped claims too
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false }, // our own sign-in page below checks the passwords
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf || API_RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== API_RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'openid profile offline_access',
          audience,
          accessTokenTTL: realm.accessTokenLifespan || 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // The code flow yields a refresh token without asking for offline_access, as Keycloak's does.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  extraTokenClaims: async (_ctx, token) => {
    const client = clientsById.get(token.clientId);
    if (token.kind === 'AccessToken' && token.accountId) {
      const user = users.get(token.accountId);
      return user ? claimsFor(user, client) : undefined;
    }
    if (token.kind === 'ClientCredentials') {
      const account = serviceAccounts.get(token.clientId);
      return account ? claimsFor(account, client) : undefined;
    }
    return undefined;
  },
  findAccount: async (_ctx, sub) => {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        ...claimsFor(user, web),
        given_name: user.firstName,
        family_name: user.lastName,
        name: [user.firstName, user.lastName].filter(Boolean).join(' '),
      }),
    };
  },
  interactions: { url: (_ctx, interaction) => `${issuerPath}/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: realm.accessTokenLifespan || 300,
    ClientCredentials: realm.accessTokenLifespan || 300,
    AuthorizationCode: 60,
    IdToken: realm.accessTokenLifespan || 300,
    RefreshToken: realm.ssoSessionIdleTimeout || 1800,
    Interaction: 600,
    Session: realm.ssoSessionMaxLifespan || 36000,
    Grant: realm.ssoSessionMaxLifespan || 36000,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    const rows = Object.entries(out).map(([k, v]) => `<p><strong>${escape(k)}</strong>: ${escape(v)}</p>`);
    ctx.body = page('Greška prijave / Sign-in error', rows.join(''));
  },
});
provider.proxy = true;

// As Keycloak with KC_HOSTNAME and KC_HOSTNAME_BACKCHANNEL_DYNAMIC: the endpoints a browser is sent to are always
// on the public issuer, while the back-channel ones follow the URL the caller used (a service asking on the
// internal address gets internal token and JWKS URLs).
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    ctx.body.authorization_endpoint = provider.urlFor('authorization');
    ctx.body.end_session_endpoint = provider.urlFor('end_session');
  }
});

// --- pages ----------------------------------------------------------------------------------------------------

function escape(value) {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="sr-Latn"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>*{box-sizing:border-box}body{font-family:sans-serif;max-width:24rem;margin:3rem auto}label,input,button{display:block;width:100%;
margin:.3rem 0}input{padding:.4rem}button{padding:.5rem;margin-top:1rem}.error{color:#a00}</style></head>
<body><h1>${escape(realm.displayName || realm.realm)}</h1>${body}</body></html>`;
}

function loginForm(uid, { username = '', error = '' } = {}) {
  return page(
    'Prijava / Sign in',
    `<h2>Prijava / Sign in</h2>${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="${issuerPath}/interaction/${escape(uid)}/login" autocomplete="off">
<label for="username">Korisničko ime (User name)</label>
<input id="username" name="username" value="${escape(username)}" autofocus required>
<label for="password">Lozinka (Password)</label>
<input id="password" name="password" type="password" required>
<button type="submit">Prijavi se (Sign in)</button></form>`,
  );
}

async function logoutSource(ctx, form) {
  // Keycloak signs out at once when the request names the session's ID token; this confirms by itself too.
  const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>');
  ctx.body = page(
    'Odjava / Sign out',
    `${confirmed}<p>Odjavljivanje… (Signing out…)</p>
<button type="submit" form="op.logoutForm">Odjavi se (Sign out)</button>
<script>document.getElementById('op.logoutForm').submit()</script>`,
  );
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('Odjavljeni ste / Signed out', '<p>Odjavljeni ste. (You are signed out.)</p>');
}

function sameSecret(given, expected) {
  const a = crypto.createHash('sha256').update(String(given)).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

// The consent step: the realm's client is first-party (Keycloak asks no consent), so grant what was asked.
async function grantConsent(req, res, details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, rest) {
  const match = rest.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) return send(res, 404, page('Nema stranice / Not found', '<p>Not found</p>'));
  const [, uid, login] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Greška / Error', '<p>Interaction mismatch</p>'));
  if (!login && req.method === 'GET') {
    if (details.prompt.name === 'login') return send(res, 200, loginForm(uid));
    if (details.prompt.name === 'consent') return grantConsent(req, res, details);
    return send(res, 400, page('Greška / Error', `<p>Unsupported prompt ${escape(details.prompt.name)}</p>`));
  }
  if (login && req.method === 'POST') {
    const form = await readForm(req);
    const username = (form.get('username') || '').trim();
    const user = users.get(username);
    // Compare even for unknown users, so the answer takes as long either way.
    const passwordOk = sameSecret(form.get('password') || '', demoPassword);
    if (!user || !passwordOk) {
      return send(res, 401, loginForm(uid, { username, error: 'Pogrešno korisničko ime ili lozinka. (Wrong user name or password.)' }));
    }
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: username, amr: ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
  }
  res.statusCode = 405;
  return res.end();
}

// --- the server -----------------------------------------------------------------------------------------------

const callback = provider.callback();

// Keycloak honours X-Forwarded-Port; Koa reads the port only from X-Forwarded-Host, which nginx sends without it.
function forwardedHostWithPort(req) {
  const fwdHost = req.headers['x-forwarded-host'];
  const fwdPort = req.headers['x-forwarded-port'];
  if (fwdHost && fwdPort && !fwdHost.includes(':')) {
    const proto = req.headers['x-forwarded-proto'] || 'http';
    const usual = (proto === 'https' && fwdPort === '443') || (proto === 'http' && fwdPort === '80');
    if (!usual) req.headers['x-forwarded-host'] = `${fwdHost}:${fwdPort}`;
  }
}

const server = http.createServer(async (req, res) => {
  try {
    forwardedHostWithPort(req);
    const url = req.url || '/';
    if (url === '/health/ready') {
      res.setHeader('Content-Type', 'text/plain');
      return res.end('ok\n');
    }
    if (!url.startsWith(`${realmPath}/`) && url !== realmPath) return send(res, 404, page('Not found', '<p>Not found</p>'));
    const rest = url.slice(realmPath.length) || '/';
    if (rest.startsWith('/interaction/')) return await interaction(req, res, rest.split('?')[0]);
    // The provider builds its URLs from the part of the original URL before its own path: through the proxy
    // that is the issuer's path (/auth/realms/...), asked directly it is the realm's path, as with Keycloak.
    req.originalUrl = `${req.headers['x-forwarded-host'] ? issuerPath : realmPath}${rest}`;
    req.url = rest;
    return callback(req, res);
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', event: 'oidc.request_failed', error: String(err) }));
    if (!res.headersSent) send(res, 400, page('Greška / Error', `<p>${escape(err.message || err)}</p>`));
    else res.end();
  }
});

server.listen(port, host, () => {
  console.log(JSON.stringify({ level: 'info', event: 'oidc.listening', issuer, port, clients: clients.map((c) => c.client_id) }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // idle keep-alive connections would hold close() open
  });
}
