// A real OpenID Connect provider (oidc-provider) for the tests of shared/oidc.py; never a production one.
//
//   node provider.js PORT
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space or comma separated)
// for its one confidential client; OIDC_ACCOUNTS, a JSON list of accounts
// [{"email": "a@example.org", "email_verified": true, "name": "A", "login": "a", "sub": "..."}]
// ("login", what the sign-in form takes, defaults to the email; "sub" defaults to the login; an
// account without "email" has no email claim). The issuer is http://127.0.0.1:PORT. Email and name
// come from the userinfo endpoint, as the code flow has it, unless OIDC_CLAIMS_IN_ID_TOKEN is set:
// then the ID token carries them too.
//
// The interaction is plain HTML a test completes over HTTP: GET /interaction/:uid shows a form
// posting "login" to /interaction/:uid/login, and a "deny" form posting to /interaction/:uid/abort
// (the provider then returns error=access_denied). Consent is granted without asking.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.js PORT (or OIDC_PORT)');
  process.exit(2);
}
const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
};

const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '[]').map((account) => {
  const login = account.login || account.email;
  return { ...account, login, sub: account.sub || login };
});

// A fresh signing key for each run: the client must read it from the provider's JWKS.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: required('OIDC_CLIENT_ID'),
    client_secret: required('OIDC_CLIENT_SECRET'),
    redirect_uris: required('OIDC_REDIRECT_URIS').split(/[\s,]+/).filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'email', 'profile'],
  pkce: { required: () => true },
  conformIdTokenClaims: !process.env.OIDC_CLAIMS_IN_ID_TOKEN,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  async findAccount(ctx, sub) {
    const account = accounts.find((a) => a.sub === sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const claims = { sub, name: account.name };
        if (account.email !== undefined) {
          claims.email = account.email;
          claims.email_verified = account.email_verified;
        }
        return claims;
      },
    };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, problem) {
  return `<!doctype html><title>Sign in</title>
${problem ? `<p class="problem">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Login <input name="login" autofocus></label> <button>Sign in</button></form>
<form method="post" action="/interaction/${uid}/abort"><button>Deny</button></form>`;
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function grantConsent(details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  return { consent: { grantId: await grant.save() } };
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') {
    await provider.interactionFinished(req, res, await grantConsent(details), { mergeWithLastSubmission: true });
  } else if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  } else if (req.method === 'POST' && action === 'login') {
    const login = (await formBody(req)).get('login') || '';
    const account = accounts.find((a) => a.login === login);
    if (!account) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid, `no account ${login}`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  } else {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(uid));
  }
}

const handleProvider = provider.callback();
createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|abort))?(?:\?.*)?$/.exec(req.url);
  if (!match) {
    handleProvider(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`interaction failed: ${err.message}`);
  });
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
