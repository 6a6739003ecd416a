// Drives a running sfsim with the off-the-shelf jsforce client, unchanged.
// Run by jsforce_test.go with the simulator's URLs in the environment:
//   SFSIM_LOGIN_URL, SFSIM_INSTANCE_URL, SFSIM_CLIENT_ID, SFSIM_CLIENT_SECRET,
//   SFSIM_REDIRECT_URI, SFSIM_USERNAME
// Prints one JSON object on stdout: {"ok":true,"userId":...,"checks":[...]}.
// Any failed expectation exits 1 with the reason on stderr.
'use strict';

const jsforce = require('jsforce');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`missing env ${name}`);
  return v;
};

const checks = [];
function expect(cond, what, detail) {
  if (!cond) {
    throw new Error(`check failed: ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
  checks.push(what);
}

async function expectReject(promise, what, test) {
  try {
    await promise;
  } catch (err) {
    expect(test(err), what, { name: err.name, errorCode: err.errorCode, message: err.message });
    return err;
  }
  throw new Error(`check failed: ${what}: the call succeeded`);
}

async function main() {
  const loginUrl = env('SFSIM_LOGIN_URL');
  const instanceUrl = env('SFSIM_INSTANCE_URL');
  const username = env('SFSIM_USERNAME');

  // OAuth 2.0 web-server flow with PKCE. jsforce sends code_challenge
  // without code_challenge_method, which Salesforce reads as S256.
  const oauth2 = new jsforce.OAuth2({
    loginUrl,
    clientId: env('SFSIM_CLIENT_ID'),
    clientSecret: env('SFSIM_CLIENT_SECRET'),
    redirectUri: env('SFSIM_REDIRECT_URI'),
    useVerifier: true,
  });
  const authUrl = oauth2.getAuthorizationUrl({ state: 'xyz', scope: 'api refresh_token', login_hint: username });
  const approve = await fetch(authUrl, { redirect: 'manual' });
  expect(approve.status === 302, 'authorize redirects', approve.status);
  const back = new URL(approve.headers.get('location'));
  expect(back.searchParams.get('state') === 'xyz', 'authorize echoes state');
  const code = back.searchParams.get('code');
  expect(!!code, 'authorize returns a code', back.toString());

  const conn = new jsforce.Connection({ oauth2, version: '62.0' });
  let refreshed = 0;
  conn.on('refresh', () => { refreshed++; });
  const userInfo = await conn.authorize(code);
  expect(conn.instanceUrl === instanceUrl, 'instance_url is the instance listener', conn.instanceUrl);
  expect(conn.instanceUrl !== loginUrl, 'instance_url differs from the login URL');
  expect(!!conn.refreshToken, 'authorization code grant returns a refresh token');
  expect(/^005/.test(userInfo.id) && /^00D/.test(userInfo.organizationId), 'user and org ids parsed from the identity URL', userInfo);

  const identity = await conn.identity();
  expect(identity.username === username, 'identity URL names the user', identity.username);

  // Describe.
  const global = await conn.describeGlobal();
  expect(global.sobjects.some((o) => o.name === 'Care_Social_Post__c'), 'describeGlobal lists the custom object');
  const caseDescribe = await conn.sobject('Case').describe();
  const ext = caseDescribe.fields.find((f) => f.name === 'Care_Case_Id__c');
  expect(ext && ext.externalId && ext.unique && ext.length === 64, 'Case describe has the external id field', ext);

  // CRUD.
  const created = await conn.sobject('Contact').create({ FirstName: 'Joe', LastName: 'Doe', Email: 'joe.doe@example.com' });
  expect(created.success && /^003/.test(created.id), 'create Contact', created);
  const contact = await conn.sobject('Contact').retrieve(created.id);
  expect(contact.Name === 'Joe Doe' && contact.Email === 'joe.doe@example.com', 'retrieve Contact with compound Name', contact);
  const updated = await conn.sobject('Contact').update({ Id: created.id, Title: 'Customer' });
  expect(updated.success, 'update Contact', updated);
  const after = await conn.sobject('Contact').retrieve(created.id);
  expect(after.Title === 'Customer', 'update is visible', after.Title);

  const kase = await conn.sobject('Case').create({ Subject: 'Perfume question', Origin: 'Social', ContactId: created.id, Care_Case_Id__c: 'care-1' });
  expect(kase.success, 'create Case', kase);

  // SOQL with a parent relationship.
  const q = await conn.query(`SELECT Id, CaseNumber, Status, Contact.Email FROM Case WHERE ContactId = '${created.id}'`);
  expect(q.totalSize === 1 && q.records[0].Contact.Email === 'joe.doe@example.com' && q.records[0].Status === 'New', 'query with Contact.Email', q);

  // Upsert by external id, single and through sObject Collections.
  const up1 = await conn.sobject('Care_Social_Post__c').upsert(
    { Care_Message_Id__c: 'msg-1', Case__c: kase.id, Content__c: 'Hi', Direction__c: 'Inbound' }, 'Care_Message_Id__c');
  expect(up1.success && up1.created === true, 'upsert creates', up1);
  const up2 = await conn.sobject('Care_Social_Post__c').upsert(
    { Care_Message_Id__c: 'msg-1', Content__c: 'Hi again' }, 'Care_Message_Id__c');
  expect(up2.success && up2.created === false && up2.id === up1.id, 'upsert updates', up2);
  const many = await conn.sobject('Care_Social_Post__c').upsert([
    { Care_Message_Id__c: 'msg-1', Content__c: 'edited' },
    { Care_Message_Id__c: 'msg-2', Case__c: kase.id, Content__c: 'Two', Direction__c: 'Outbound' },
    { Care_Message_Id__c: 'msg-3', Case__c: kase.id, Content__c: 'Three', Direction__c: 'Sideways' },
  ], 'Care_Message_Id__c');
  expect(many.length === 3 && many[0].success && many[0].created === false && many[1].success && many[1].created === true,
    'collections upsert', many);
  expect(!many[2].success && many[2].errors[0].statusCode === 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    'collections upsert reports a per-record restricted picklist error', many[2]);

  // Collections create, allOrNone false.
  const leads = await conn.sobject('Lead').create([
    { LastName: 'Lead', Company: 'Acme' },
    { LastName: 'NoCompany' },
  ], { allOrNone: false });
  expect(leads[0].success && !leads[1].success && leads[1].errors[0].statusCode === 'REQUIRED_FIELD_MISSING',
    'collections create with a per-record error', leads);

  // Many records, then a paged query (the server runs with a small batch size).
  const batch = [];
  for (let i = 0; i < 250; i++) batch.push({ LastName: `Bulk${i}` });
  const bulk = await conn.sobject('Contact').create(batch, { allowRecursive: true });
  expect(bulk.length === 250 && bulk.every((r) => r.success), 'create 250 contacts in collections of 200');
  const all = await conn.query('SELECT Id, LastName FROM Contact ORDER BY LastName').run({ autoFetch: true, maxFetch: 10000 });
  expect(all.totalSize === 251 && all.records.length === 251, 'autoFetch follows nextRecordsUrl', { totalSize: all.totalSize, n: all.records.length });

  // SOSL.
  const found = await conn.search('FIND {Joe} IN NAME FIELDS RETURNING Contact(Id, Name, Email)');
  expect(found.searchRecords.length === 1 && found.searchRecords[0].Email === 'joe.doe@example.com', 'search', found);

  // Errors come back with Salesforce's codes.
  await expectReject(conn.query('SELECT Id, Bogus__c FROM Contact'), 'INVALID_FIELD error', (e) => e.errorCode === 'INVALID_FIELD');
  await expectReject(conn.sobject('Lead').create({ FirstName: 'x' }), 'REQUIRED_FIELD_MISSING error', (e) => e.errorCode === 'REQUIRED_FIELD_MISSING');

  // Limits, and the Sforce-Limit-Info header jsforce parses.
  const limits = await conn.limits();
  expect(limits.DailyApiRequests && limits.DailyApiRequests.Max > 0, 'limits', limits.DailyApiRequests);
  expect(conn.limitInfo.apiUsage && conn.limitInfo.apiUsage.used > 0, 'Sforce-Limit-Info parsed', conn.limitInfo);

  // Session expiry: jsforce refreshes on 401 and retries.
  const before = conn.accessToken;
  const expire = await fetch(`${loginUrl}/__sim/sessions/expire`, { method: 'POST' });
  expect(expire.status === 204, 'expire sessions');
  const again = await conn.query('SELECT COUNT() FROM Case');
  expect(again.totalSize === 1, 'query after refresh', again);
  expect(refreshed === 1 && conn.accessToken !== before, 'refresh_token grant used on 401', { refreshed });

  // Delete.
  const del = await conn.sobject('Contact').destroy(created.id);
  expect(del.success, 'delete', del);
  await expectReject(conn.sobject('Contact').retrieve(created.id), 'deleted record is NOT_FOUND', (e) => e.errorCode === 'NOT_FOUND');

  // Revoke the refresh token: it can no longer be used.
  const rt = conn.refreshToken;
  await conn.logout(true);
  await expectReject(oauth2.refreshToken(rt), 'revoked refresh token is invalid_grant', (e) => e.name === 'invalid_grant');

  process.stdout.write(JSON.stringify({ ok: true, userId: userInfo.id, checks }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
