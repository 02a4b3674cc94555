// A real SAML 2.0 identity provider (the `samlify` package) for the single sign-on tests,
// started on loopback by tests/sso/idp.py. IDP_CONFIG (JSON): {host, port, key, cert (PEM,
// made by the fixture), sp: {entity_id, acs_url}, people: {login: {email, name}}, tamper:
// "" | "audience" | "expired" | "unsigned" | "message" | "tampered"}.
//   GET  /metadata  its metadata (entityID, HTTP-Redirect SSO endpoint, signing cert)
//   GET  /sso       the SP's AuthnRequest (HTTP-Redirect binding): a sign-in form
//   POST /login     signs a Response for the login typed, and shows the HTTP-POST form
//                   that carries it to the SP's ACS (a button, so a test can read it)
// `tamper` makes it misbehave as a broken or hostile IdP would: an assertion for another
// audience, an expired one (signed all the same), one with no signature, one whose
// Response is signed but not the assertion, or a signed one whose address was changed
// afterwards. Prints "ready" once listening.
import http from 'node:http';
import samlify from 'samlify';
import * as validator from '@authenio/samlify-node-xmllint';

const config = JSON.parse(process.env.IDP_CONFIG);
// Its URLs name `host` (it listens on 127.0.0.1 alone): "localhost" makes it another site
// than the console's 127.0.0.1, so the browser treats its POST to the ACS as cross-site.
const origin = `http://${config.host}:${config.port}`;
const { Constants, SamlLib } = samlify;
samlify.setSchemaValidator(validator);

const idp = samlify.IdentityProvider({
  entityID: `${origin}/metadata`,
  privateKey: config.key,
  signingCert: config.cert,
  wantAuthnRequestsSigned: false,
  nameIDFormat: [Constants.namespace.format.emailAddress],
  singleSignOnService: [{ Binding: Constants.namespace.binding.redirect, Location: `${origin}/sso` }],
});
// samlify signs what the SP's metadata asks for: the assertion, or (tamper "message")
// only the Response around it.
const messageOnly = config.tamper === 'message';
const sp = samlify.ServiceProvider({
  entityID: config.sp.entity_id,
  wantAssertionsSigned: !messageOnly,
  wantMessageSigned: messageOnly,
  assertionConsumerService: [{ Binding: Constants.namespace.binding.post, Location: config.sp.acs_url }],
});

const EMAIL = 'urn:oid:0.9.2342.19200300.100.1.3';
const NAME = 'urn:oid:2.16.840.1.113730.3.1.241';  // displayName
const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function responseXml(template, requestId, person) {
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const expired = config.tamper === 'expired';
  const past = (minutes) => new Date(now.getTime() - minutes * 60 * 1000).toISOString();
  // The statements are XML: put in before the values, which replaceTagsByValue escapes.
  const attributes = SamlLib.attributeStatementBuilder([
    { name: EMAIL, nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri', valueTag: 'email', valueXsiType: 'xs:string' },
    { name: NAME, nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri', valueTag: 'name', valueXsiType: 'xs:string' },
  ]);
  const statements = `<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes}`;
  const xml = template.replace('{AuthnStatement}{AttributeStatement}', statements);
  return SamlLib.replaceTagsByValue(xml, {
    attrEmail: person.email,
    attrName: person.name,
    ID: idp.entitySetting.generateID(),
    AssertionID: idp.entitySetting.generateID(),
    Destination: config.sp.acs_url,
    Audience: config.tamper === 'audience' ? 'https://another-application.test/saml' : config.sp.entity_id,
    SubjectRecipient: config.sp.acs_url,
    Issuer: idp.entityMeta.getEntityID(),
    IssueInstant: expired ? past(20) : now.toISOString(),
    StatusCode: Constants.StatusCode.Success,
    ConditionsNotBefore: expired ? past(20) : now.toISOString(),
    ConditionsNotOnOrAfter: expired ? past(10) : later.toISOString(),
    SubjectConfirmationDataNotOnOrAfter: expired ? past(10) : later.toISOString(),
    NameIDFormat: Constants.namespace.format.emailAddress,
    NameID: person.email,
    InResponseTo: requestId,
  });
}

async function samlResponse(requestId, person) {
  const template = SamlLib.defaultLoginResponseTemplate.context;
  if (config.tamper === 'unsigned') {
    return Buffer.from(responseXml(template, requestId, person)).toString('base64');
  }
  const { context } = await idp.createLoginResponse(
    sp, { extract: { request: { id: requestId } } }, 'post', { email: person.email },
    (tpl) => ({ id: '', context: responseXml(tpl, requestId, person) }),
  );
  if (config.tamper !== 'tampered') return context;
  // Signed, then changed on the way: the signature no longer covers what it says.
  const xml = Buffer.from(context, 'base64').toString('utf8');
  return Buffer.from(xml.replaceAll(escape(person.email), 'boss@' + person.email.split('@')[1])).toString('base64');
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, origin);
  try {
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'Content-Type': 'application/samlmetadata+xml' });
      return res.end(idp.getMetadata());
    }
    if (req.method === 'GET' && url.pathname === '/sso') {
      const query = Object.fromEntries(url.searchParams);
      const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: '' });
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(page('Test IdP sign-in', `<form method="post" action="/login">
        <input type="hidden" name="request_id" value="${escape(parsed.extract.request.id)}">
        <input type="hidden" name="relay_state" value="${escape(url.searchParams.get('RelayState') || '')}">
        <label>Login <input name="login"></label><button type="submit">Sign in</button></form>`));
    }
    if (req.method === 'POST' && url.pathname === '/login') {
      const form = await readForm(req);
      const person = config.people[form.get('login')];
      if (!person) {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        return res.end('unknown login');
      }
      const response = await samlResponse(form.get('request_id'), person);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(page('Back to the application', `<form method="post" action="${escape(config.sp.acs_url)}">
        <input type="hidden" name="SAMLResponse" value="${escape(response)}">
        <input type="hidden" name="RelayState" value="${escape(form.get('relay_state') || '')}">
        <button type="submit">Continue to the application</button></form>`));
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  } catch (error) {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`refused: ${error.message || error}`);
  }
});

server.listen(config.port, '127.0.0.1', () => console.log('ready'));
