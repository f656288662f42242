'use strict';
// The record-event User Event script: what it posts to the gateway, how it signs it, when it stays
// quiet, and that nothing it meets can fail the user's save or leak a secret into the log.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

const { loadModule } = require('./support/amd');
const mocks = require('./support/netsuite_mocks');

const HMAC_SECRET = 'isthmus-test-secret-0123456789';
const API_KEY = 'ns-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const GATEWAY = 'https://isthmus.example.com';

function harness(options) {
    const settings = options || {};
    const vault = Object.assign({
        custsecret_isthmus_hmac: HMAC_SECRET,
        custsecret_isthmus_api_key: API_KEY,
    }, settings.vault || {});
    const https = mocks.httpsModule(vault, settings.respond);
    const crypto = mocks.cryptoModule(vault);
    const log = mocks.logModule();
    const params = Object.assign({ custscript_isthmus_gateway_url: GATEWAY }, settings.params || {});
    const runtime = mocks.runtimeModule({
        params,
        executionContext: settings.executionContext,
        user: settings.user,
    });
    const ue = loadModule('isthmus_events_ue.js', {
        'N/https': https,
        'N/crypto': crypto,
        'N/encode': mocks.encodeModule(),
        'N/runtime': runtime,
        'N/log': log,
        'N/record': mocks.recordModule(),
    });
    return { ue, https, crypto, log };
}

/** A user event context as NetSuite passes it to afterSubmit. */
function saved(type, recordType, id) {
    const rec = { type: recordType, id };
    return {
        type,
        newRecord: type === 'delete' ? undefined : rec,
        oldRecord: type === 'create' ? undefined : rec,
    };
}

/** The v2 signature the gateway expects, computed with node's crypto: method, target, body. */
function expectedSignature(secret, timestamp, body, target = '/v1/netsuite/events?mode=async', method = 'POST') {
    return 'v2=' + nodeCrypto.createHmac('sha256', secret)
        .update(timestamp + '.' + method + '.' + target + '.' + body).digest('hex');
}

function assertNoSecretIn(log, post) {
    const text = JSON.stringify(log.entries);
    assert.ok(!text.includes(HMAC_SECRET), 'the HMAC secret is not logged');
    assert.ok(!text.includes(API_KEY), 'the API key is not logged');
    if (post) {
        const signature = post.headers['X-Isthmus-Signature'];
        assert.ok(!text.includes(signature.slice(3)), 'the signature is not logged');
    }
}

describe('the record event sent to the gateway', () => {
    it('posts the record type, the id and the event to /v1/netsuite/events, queued', () => {
        const { ue, https } = harness();
        ue.afterSubmit(saved('create', 'customer', 123));
        assert.equal(https.posts.length, 1);
        const post = https.posts[0];
        assert.equal(post.url, GATEWAY + '/v1/netsuite/events?mode=async');
        assert.equal(typeof post.body, 'string');
        assert.match(post.body, /^\{"record_type":"customer","id":"123","event_type":"create","event_id":"[a-z0-9]+-[a-z0-9]+"\}$/);
        const { event_id: eventId, ...event } = JSON.parse(post.body);
        assert.deepEqual(event, { record_type: 'customer', id: '123', event_type: 'create' });
        assert.ok(eventId.length <= 64);
    });

    it('gives two saves of one record in the same second two signatures', () => {
        const { ue, https } = harness();
        ue.afterSubmit(saved('edit', 'customer', 123));
        ue.afterSubmit(saved('edit', 'customer', 123));
        assert.equal(https.posts.length, 2);
        assert.notEqual(https.posts[0].body, https.posts[1].body);
        assert.notEqual(https.posts[0].headers['X-Isthmus-Signature'], https.posts[1].headers['X-Isthmus-Signature']);
    });

    it('carries the JSON content type, the API key as a bearer token and a timestamp', () => {
        const { ue, https } = harness();
        const before = Math.floor(Date.now() / 1000);
        ue.afterSubmit(saved('edit', 'salesorder', '5501'));
        const after = Math.floor(Date.now() / 1000);
        const headers = https.posts[0].headers;
        assert.deepEqual(Object.keys(headers).sort(),
            ['Authorization', 'Content-Type', 'X-Isthmus-Signature', 'X-Isthmus-Timestamp']);
        assert.equal(headers['Content-Type'], 'application/json');
        assert.ok(headers.Authorization instanceof https.SecureString, 'the API key never exists as plain text in the script');
        assert.equal(https.reveal(headers.Authorization), 'Bearer ' + API_KEY);
        assert.match(headers['X-Isthmus-Timestamp'], /^[0-9]+$/);
        const timestamp = Number(headers['X-Isthmus-Timestamp']);
        assert.ok(timestamp >= before && timestamp <= after, 'unix seconds of the send');
    });

    it('signs "<timestamp>.POST.<path?query>.<raw body>" with HMAC-SHA256 of the API Secret, in lowercase hex', () => {
        const { ue, https, crypto } = harness();
        ue.afterSubmit(saved('xedit', 'invoice', '880'));
        const post = https.posts[0];
        const timestamp = post.headers['X-Isthmus-Timestamp'];
        assert.equal(post.headers['X-Isthmus-Signature'], expectedSignature(HMAC_SECRET, timestamp, post.body));
        assert.match(post.headers['X-Isthmus-Signature'], /^v2=[0-9a-f]{64}$/);
        assert.deepEqual(crypto.calls.map((c) => c.method), ['createHmac', 'update', 'digest']);
        assert.equal(crypto.calls[0].algorithm, 'SHA256');
        assert.equal(crypto.calls[0].secret, 'custsecret_isthmus_hmac');
        assert.equal(crypto.calls[1].inputEncoding, 'UTF_8');
        assert.equal(crypto.calls[2].outputEncoding, 'HEX');
    });

    it('matches a known HMAC vector for a fixed secret, timestamp and body', () => {
        const vault = { custsecret_isthmus_hmac: HMAC_SECRET };
        const signing = loadModule('lib/event_signing.js', {
            'N/crypto': mocks.cryptoModule(vault),
            'N/encode': mocks.encodeModule(),
            'N/https': mocks.httpsModule(vault),
        });
        const body = '{"record_type":"customer","id":"123","event_type":"create"}';
        const target = '/v1/netsuite/events?mode=async';
        const signature = signing.signature({
            secretId: 'custsecret_isthmus_hmac', timestamp: '1767225600', method: 'POST', target, body,
        });
        // The vector gateway/src/signature.rs pins (KNOWN_V2).
        assert.equal(signature, 'v2=b33590e0e7c0ce0de05bd568007ac74a95fcd7815c62b89bf49abd95ff0e9f67');
        assert.equal(signature, expectedSignature(HMAC_SECRET, '1767225600', body, target));
    });

    it('signs the query string: another target is another signature', () => {
        const vault = { custsecret_isthmus_hmac: HMAC_SECRET };
        const signing = loadModule('lib/event_signing.js', {
            'N/crypto': mocks.cryptoModule(vault),
            'N/encode': mocks.encodeModule(),
            'N/https': mocks.httpsModule(vault),
        });
        const body = '{"record_type":"customer","id":"123","event_type":"create"}';
        const sign = (target, method = 'POST') => signing.signature({
            secretId: 'custsecret_isthmus_hmac', timestamp: '1767225600', method, target, body,
        });
        const queued = sign('/v1/netsuite/events?mode=async');
        assert.notEqual(queued, sign('/v1/netsuite/events'));
        assert.notEqual(queued, sign('/v1/netsuite/events?mode=async&dry_run=true'));
        assert.notEqual(queued, sign('/v1/netsuite/events?mode=async', 'PUT'));
        assert.throws(() => sign('v1/netsuite/events'), /target/);
        assert.throws(() => sign('/v1/netsuite/events', 'post'), /method/);
    });

    it('signs the target without the mode when events are sent synchronously', () => {
        const { ue, https } = harness({ params: { custscript_isthmus_async: false } });
        ue.afterSubmit(saved('edit', 'customer', 123));
        const post = https.posts[0];
        assert.equal(post.url, GATEWAY + '/v1/netsuite/events');
        assert.equal(post.headers['X-Isthmus-Signature'],
            expectedSignature(HMAC_SECRET, post.headers['X-Isthmus-Timestamp'], post.body, '/v1/netsuite/events'));
    });

    it('uses the API Secrets named by the script parameters', () => {
        const { ue, https, crypto } = harness({
            params: {
                custscript_isthmus_hmac_secret: 'custsecret_other_hmac',
                custscript_isthmus_api_key_secret: 'custsecret_other_key',
            },
            vault: { custsecret_other_hmac: 'another-secret', custsecret_other_key: 'another-key' },
        });
        ue.afterSubmit(saved('create', 'customer', '9'));
        const post = https.posts[0];
        assert.equal(crypto.calls[0].secret, 'custsecret_other_hmac');
        assert.equal(post.headers['X-Isthmus-Signature'],
            expectedSignature('another-secret', post.headers['X-Isthmus-Timestamp'], post.body));
        assert.equal(https.reveal(post.headers.Authorization), 'Bearer another-key');
    });

    it('sends every followed record type as its record.Type value', () => {
        const types = ['customer', 'inventoryitem', 'noninventoryitem', 'serviceitem', 'kititem',
            'salesorder', 'itemfulfillment', 'invoice', 'customerpayment', 'creditmemo', 'estimate'];
        const { ue, https } = harness();
        types.forEach((type, index) => ue.afterSubmit(saved('edit', type, 100 + index)));
        assert.deepEqual(https.posts.map((p) => JSON.parse(p.body).record_type), types);
        assert.deepEqual(https.posts.map((p) => JSON.parse(p.body).id), types.map((_, i) => String(100 + i)));
    });

    it('sends nothing for a record type Isthmus does not follow', () => {
        const { ue, https, log } = harness();
        ue.afterSubmit(saved('create', 'vendor', '4'));
        ue.afterSubmit(saved('create', 'cashsale', '5'));
        assert.equal(https.posts.length, 0);
        assert.equal(log.entries.filter((e) => e.level === 'error').length, 0);
    });

    it('sends a delete with the deleted record\'s id', () => {
        const { ue, https } = harness();
        ue.afterSubmit(saved('delete', 'customerpayment', '77'));
        const event = JSON.parse(https.posts[0].body);
        assert.equal(typeof event.event_id, 'string');
        delete event.event_id;
        assert.deepEqual(event, { record_type: 'customerpayment', id: '77', event_type: 'delete' });
    });

    it('sends other record-changing actions (approve, cancel, ship, …) as edits', () => {
        const { ue, https } = harness();
        ['approve', 'cancel', 'ship', 'pack', 'markcomplete'].forEach((type) => ue.afterSubmit(saved(type, 'salesorder', '5')));
        assert.deepEqual(https.posts.map((p) => JSON.parse(p.body).event_type), ['edit', 'edit', 'edit', 'edit', 'edit']);
    });

    it('sends nothing for events that change no record', () => {
        const { ue, https } = harness();
        ['view', 'copy', 'print', 'email', 'quickview'].forEach((type) => ue.afterSubmit(saved(type, 'customer', '5')));
        assert.equal(https.posts.length, 0);
    });

    it('posts without mode=async when the queue parameter is unchecked, and trims the base URL', () => {
        const { ue, https } = harness({
            params: { custscript_isthmus_async: false, custscript_isthmus_gateway_url: ' https://gw.example.com/isthmus/ ' },
        });
        ue.afterSubmit(saved('create', 'customer', '1'));
        assert.equal(https.posts[0].url, 'https://gw.example.com/isthmus/v1/netsuite/events');
    });
});

describe('the integration\'s own changes', () => {
    it('are not sent when made by a listed user', () => {
        const { ue, https, log } = harness({
            params: { custscript_isthmus_skip_users: '12, 40' },
            user: { id: 40, role: 1017, roleId: 'customrole_isthmus' },
        });
        ue.afterSubmit(saved('edit', 'customer', '3'));
        assert.equal(https.posts.length, 0);
        assert.ok(log.entries.some((e) => e.level === 'debug' && /user 40/.test(e.details)));
    });

    it('are not sent when made under a listed role, by internal id or script id', () => {
        for (const listed of ['1017', 'CUSTOMROLE_ISTHMUS', '3,customrole_isthmus']) {
            const { ue, https } = harness({
                params: { custscript_isthmus_skip_roles: listed },
                user: { id: 40, role: 1017, roleId: 'customrole_isthmus' },
            });
            ue.afterSubmit(saved('edit', 'customer', '3'));
            assert.equal(https.posts.length, 0, 'skipped for ' + listed);
        }
    });

    it('are not sent in a listed execution context, named by ContextType key or value', () => {
        for (const listed of ['REST_WEBSERVICES', 'restwebservices', 'CSV_IMPORT, REST_WEBSERVICES']) {
            const { ue, https } = harness({
                params: { custscript_isthmus_skip_contexts: listed },
                executionContext: 'RESTWEBSERVICES',
            });
            ue.afterSubmit(saved('create', 'salesorder', '8'));
            assert.equal(https.posts.length, 0, 'skipped for ' + listed);
        }
    });

    it('still leaves other users, roles and contexts sending', () => {
        const { ue, https } = harness({
            params: {
                custscript_isthmus_skip_users: '40',
                custscript_isthmus_skip_roles: 'customrole_isthmus',
                custscript_isthmus_skip_contexts: 'REST_WEBSERVICES',
            },
            executionContext: 'USERINTERFACE',
            user: { id: 41, role: 3, roleId: 'administrator' },
        });
        ue.afterSubmit(saved('edit', 'customer', '3'));
        assert.equal(https.posts.length, 1);
    });

    it('are sent by default: no user, role or context is skipped unless listed', () => {
        const { ue, https } = harness({ executionContext: 'RESTWEBSERVICES', user: { id: 40, role: 1017, roleId: 'customrole_isthmus' } });
        ue.afterSubmit(saved('edit', 'customer', '3'));
        assert.equal(https.posts.length, 1);
    });
});

describe('a save the gateway cannot be told about', () => {
    it('is not failed when the post throws, and the error is logged without secrets', () => {
        const { ue, https, log } = harness({
            respond(request) {
                // A hostile error that quotes the request as the script holds it.
                throw mocks.suiteScriptError('SSS_REQUEST_TIME_EXCEEDED',
                    'timed out sending ' + request.headers['X-Isthmus-Signature'] + ' with ' +
                    String(request.headers.Authorization));
            },
        });
        assert.doesNotThrow(() => ue.afterSubmit(saved('create', 'customer', '123')));
        assert.equal(https.posts.length, 1);
        const errors = log.entries.filter((e) => e.level === 'error');
        assert.equal(errors.length, 1);
        assert.match(errors[0].details, /^customer 123 \(create\): SSS_REQUEST_TIME_EXCEEDED: timed out sending \[redacted\] with/);
        assertNoSecretIn(log, https.posts[0]);
    });

    it('is not failed when the gateway answers an error status, which is logged', () => {
        const { ue, https, log } = harness({
            respond: () => ({ code: 401, body: '{"code":"UNAUTHENTICATED","message":"bad API key","trace_id":"t1"}' }),
        });
        assert.doesNotThrow(() => ue.afterSubmit(saved('edit', 'invoice', '9')));
        const errors = log.entries.filter((e) => e.level === 'error');
        assert.equal(errors.length, 1);
        assert.match(errors[0].details, /invoice 9 \(edit\): HTTP 401 .*UNAUTHENTICATED/);
        assertNoSecretIn(log, https.posts[0]);
    });

    it('is not failed when the HMAC secret is missing from API Secrets', () => {
        const { ue, https, log } = harness({ params: { custscript_isthmus_hmac_secret: 'custsecret_not_there' } });
        assert.doesNotThrow(() => ue.afterSubmit(saved('create', 'customer', '1')));
        assert.equal(https.posts.length, 0);
        const errors = log.entries.filter((e) => e.level === 'error');
        assert.equal(errors.length, 1);
        assert.match(errors[0].details, /MOCK_UNKNOWN_SECRET/);
        assertNoSecretIn(log);
    });

    it('is not failed when a secret parameter is not an API Secret id', () => {
        const { ue, https, log } = harness({ params: { custscript_isthmus_api_key_secret: 'Bearer abc' } });
        assert.doesNotThrow(() => ue.afterSubmit(saved('create', 'customer', '1')));
        assert.equal(https.posts.length, 0);
        assert.match(log.entries.find((e) => e.level === 'error').details, /API key secret must be the ID of an API Secret/);
    });

    it('is not failed when the gateway URL is missing or not https, and says so', () => {
        for (const url of ['', 'http://isthmus.example.com', 'isthmus.example.com']) {
            const { ue, https, log } = harness({ params: { custscript_isthmus_gateway_url: url } });
            assert.doesNotThrow(() => ue.afterSubmit(saved('create', 'customer', '1')));
            assert.equal(https.posts.length, 0);
            assert.match(log.entries.find((e) => e.level === 'error').details, /custscript_isthmus_gateway_url must be the https:\/\/ base URL/);
        }
    });

    it('is not failed when the platform hands over a malformed context', () => {
        const { ue, https, log } = harness();
        assert.doesNotThrow(() => ue.afterSubmit({ type: 'edit', get newRecord() { throw new Error('record unavailable'); } }));
        assert.equal(https.posts.length, 0);
        assert.match(log.entries.find((e) => e.level === 'error').details, /record unavailable/);
    });

    it('never logs the secrets or the signature on success', () => {
        const { ue, https, log } = harness({ params: {} });
        ue.afterSubmit(saved('create', 'customer', '123'));
        assert.ok(log.entries.length > 0);
        assertNoSecretIn(log, https.posts[0]);
    });
});
