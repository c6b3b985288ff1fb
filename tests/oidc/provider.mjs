// A real OpenID Connect provider (panva's oidc-provider) configured like Pro Santé Connect, started
// on loopback by the tests (tests/web/psc_provider.py). It signs real tokens with its own RSA key.
//
// Like PSC: scopes `openid scope_all`, the claims SubjectNameID (« 8 » + RPPS for a professional of
// the RPPS), SubjectRefPro, given_name, family_name, preferred_username; acr « eidas1 »; the
// userinfo answer as JSON, or as a signed JWT for a client registered with
// userinfo_signed_response_alg; no consent screen (PSC has none): a login page, then back.
//
// Environment: PSC_TEST_CONFIG, a JSON file {issuer?, clients: [...], accounts: {login: claims}};
// two test variants of a hostile or broken provider, both real signatures:
//   PSC_TEST_TOKEN_CLOCK_SKEW  seconds added to the clock while the token endpoint answers
//                              (negative: an ID token already expired when it is received);
//   PSC_TEST_PUBLISHED_JWKS    the jwks_uri the discovery document announces instead of its own
//                              (a token signed with a key that is not the published one).
// Prints "READY <issuer>" once listening (port 0: any free port).
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.env.PSC_TEST_CONFIG, 'utf8'));
const skew = Number(process.env.PSC_TEST_TOKEN_CLOCK_SKEW || '0');
const publishedJwks = process.env.PSC_TEST_PUBLISHED_JWKS || '';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: config.kid || 'psc-test', use: 'sig', alg: 'RS256' };

const server = createServer();
await new Promise((resolve) => { server.listen(config.port || 0, '127.0.0.1', resolve); });
const issuer = config.issuer || `http://127.0.0.1:${server.address().port}`;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'scope_all'],
  claims: {
    openid: ['sub'],
    scope_all: [
      'SubjectNameID', 'SubjectRefPro', 'SubjectOrganization', 'SubjectRole', 'given_name',
      'family_name', 'preferred_username', 'codeCivilite', 'otherIds',
    ],
  },
  acrValues: ['eidas1'],
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['psc-test-cookie-key'] },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600,
  },
  findAccount: (ctx, id) => {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: () => ({ ...claims, sub: id }) };
  },
  renderError: (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="fr"><title>Erreur</title><h1>Erreur</h1><pre>${escape(JSON.stringify(out))}</pre></html>`;
  },
});

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const loginPage = (uid, error) => `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Pro Santé Connect (test)</title></head>
<body><main><h1>Pro Santé Connect — fournisseur de test</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label for="login">Identifiant e-CPS</label> <input id="login" name="login" required>
<button type="submit">S'authentifier</button></form></main></body></html>`;

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (match) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name === 'consent') { // PSC asks no consent: grant what was asked
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(match[1]);
      return;
    }
    const login = (await formBody(ctx.req)).get('login') || '';
    if (!config.accounts[login]) {
      ctx.type = 'html';
      ctx.body = loginPage(match[1], 'Identifiant inconnu.');
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: login, acr: 'eidas1', amr: ['pin'] },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (skew && ctx.path === '/token') {
    const realNow = Date.now;
    Date.now = () => realNow() + skew * 1000;
    try { await next(); } finally { Date.now = realNow; }
    return;
  }
  await next();
  if (publishedJwks && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
    ctx.body = { ...ctx.body, jwks_uri: publishedJwks };
  }
});

server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);
