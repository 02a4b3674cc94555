// A real OpenID provider (the `oidc-provider` package) for the single sign-on tests,
// started on loopback by tests/sso/idp.py. Its people and its one client come in
// IDP_CONFIG (JSON): {port, client_id, client_secret, redirect_uri, people: {login:
// {email, email_verified, name}}, tamper: "" | "audience" | "expired"}. Sign-in is the
// package's own development pages (any password for a listed login). `tamper` makes it
// misbehave as a broken or hostile provider would: ID tokens for another audience, or
// already expired, signed with its own key all the same. Prints "ready" once listening.
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';

const config = JSON.parse(process.env.IDP_CONFIG);
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test', alg: 'RS256', use: 'sig' };
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    const person = config.people[id];
    if (!person) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...person }; } };
  },
  pkce: { required: () => false },
  cookies: { keys: ['tests-only-idp-cookie-key'] },
  // Every consent is given: the test IdP's people are the tests'.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

if (config.tamper) {
  const now = () => Math.floor(Date.now() / 1000);
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
    const claims = decodeJwt(ctx.body.id_token);
    if (config.tamper === 'audience') claims.aud = 'another-application';
    if (config.tamper === 'expired') { claims.iat = now() - 7200; claims.exp = now() - 3600; }
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test' }).sign(privateKey),
    };
  });
}

provider.listen(config.port, '127.0.0.1', () => console.log('ready'));
