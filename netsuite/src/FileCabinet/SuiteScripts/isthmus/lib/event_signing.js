/**
 * @NApiVersion 2.1
 * @NModuleScope SameAccount
 */
/**
 * How a record event is signed for the Isthmus gateway.
 *
 * The signature is `v2=<lowercase hex HMAC-SHA256>` over
 * `"<unix seconds>.<METHOD>.<path?query>.<raw body>"`, keyed by the value of a NetSuite API Secret
 * (Setup > Company > API Secrets) read as UTF-8. `<path?query>` is the gateway's own request
 * target (`/v1/netsuite/events?mode=async`), so the method, the route and the query string
 * (`mode`, `dry_run`) are signed with the body and cannot be changed on the way. The API key
 * goes out as `Authorization: Bearer <key>`, also from an API Secret. Neither secret value ever
 * reaches this code: SuiteScript hands out a `crypto.SecretKey` handle for the HMAC
 * (`https.createSecretKey({ secret })`) and an `https.SecureString` for the header, which
 * NetSuite resolves only when the request leaves. The secrets must allow this script
 * ("Restrict to Scripts") and the gateway's domain ("Restrict to Domains").
 *
 * `Hmac.digest` answers hex by default (`encode.Encoding.HEX`); its letter case is not
 * documented, so the digest is lower-cased here.
 */
define(['N/crypto', 'N/encode', 'N/https'], function (crypto, encode, https) {
    /** An API Secret's script id, as `https.createSecureString` accepts it inside braces. */
    const SECRET_ID = /^custsecret[a-z0-9_]{1,89}$/i;

    /**
     * Throws unless `secretId` is the script id of an API Secret.
     * @param {string} secretId
     * @param {string} what the script parameter it came from, for the message
     */
    function requireSecretId(secretId, what) {
        if (typeof secretId !== 'string' || !SECRET_ID.test(secretId)) {
            throw new Error(what + ' must be the ID of an API Secret (custsecret…), not "' +
                String(secretId).slice(0, 40) + '"');
        }
    }

    /** An HTTP method in capitals, or a request target that starts with `/` and has no space. */
    const METHOD = /^[A-Z]+$/;
    const TARGET = /^\/[^\s#]*$/;

    /**
     * The `X-Isthmus-Signature` value for a body sent at `timestamp` with `method` to `target`.
     * @param {{secretId: string, timestamp: string, method: string, target: string, body: string}} options
     * @returns {string} `v2=` and 64 lowercase hex digits
     */
    function signature(options) {
        requireSecretId(options.secretId, 'the HMAC secret');
        if (!METHOD.test(String(options.method)) || !TARGET.test(String(options.target))) {
            throw new Error('the signed method must be in capitals and the target a path starting with /');
        }
        const key = https.createSecretKey({
            secret: options.secretId,
            encoding: https.Encoding.UTF_8,
        });
        const hmac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key: key });
        hmac.update({
            input: options.timestamp + '.' + options.method + '.' + options.target + '.' + options.body,
            inputEncoding: encode.Encoding.UTF_8,
        });
        const digest = String(hmac.digest({ outputEncoding: encode.Encoding.HEX })).toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(digest)) {
            throw new Error('HMAC-SHA256 did not answer 64 hex digits');
        }
        return 'v2=' + digest;
    }

    /**
     * The `Authorization` header value `Bearer <API key>`, the key resolved by NetSuite.
     * @param {string} secretId the API Secret that holds the gateway API key
     * @returns {https.SecureString}
     */
    function bearer(secretId) {
        requireSecretId(secretId, 'the API key secret');
        const header = https.createSecureString({ input: 'Bearer ' });
        return header.appendSecureString({
            secureString: https.createSecureString({ input: '{' + secretId + '}' }),
            keepEncoding: true,
        });
    }

    return {
        signature: signature,
        bearer: bearer,
    };
});
