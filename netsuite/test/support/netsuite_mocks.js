'use strict';
// Stand-ins for the SuiteScript modules the Isthmus scripts use, shaped after the SuiteScript 2.x
// reference (options objects, enums holding their documented string values). They record what
// the scripts ask for so tests can assert on it. Secrets live in a `vault` the scripts cannot
// read: as in NetSuite, a script only ever holds a secret's id, and the value appears only in
// the HMAC (N/crypto) and when a SecureString header is sent (N/https).

const nodeCrypto = require('node:crypto');

const ENCODING = Object.freeze({
    UTF_8: 'UTF_8',
    BASE_16: 'BASE_16',
    BASE_32: 'BASE_32',
    BASE_64: 'BASE_64',
    BASE_64_URL_SAFE: 'BASE_64_URL_SAFE',
    HEX: 'HEX',
});

/** A SuiteScript-style error (what N/error and the platform throw). */
function suiteScriptError(name, message) {
    const error = new Error(message);
    error.name = name;
    error.type = 'error.SuiteScriptError';
    return error;
}

function encodeModule() {
    return { Encoding: ENCODING };
}

function secretValue(vault, id) {
    if (!Object.prototype.hasOwnProperty.call(vault, id)) {
        throw suiteScriptError('MOCK_UNKNOWN_SECRET', 'No API Secret ' + id + ' is available to this script');
    }
    return vault[id];
}

/** N/crypto: HMACs computed with Node's crypto over the vault's secret. */
function cryptoModule(vault) {
    const calls = [];
    return {
        calls,
        HashAlg: Object.freeze({ SHA1: 'SHA1', SHA256: 'SHA256', SHA512: 'SHA512', MD5: 'MD5' }),
        createHmac(options) {
            calls.push({ method: 'createHmac', algorithm: options.algorithm, secret: options.key && options.key.secret });
            if (options.algorithm !== 'SHA256' && options.algorithm !== 'SHA512') {
                throw suiteScriptError('INVALID_ALGORITHM', 'Unsupported HMAC algorithm ' + options.algorithm);
            }
            if (!options.key || typeof options.key.secret !== 'string') {
                throw suiteScriptError('MISSING_REQD_ARGUMENT', 'options.key must be a crypto.SecretKey');
            }
            const secret = secretValue(vault, options.key.secret);
            const hmac = nodeCrypto.createHmac(options.algorithm.toLowerCase(), Buffer.from(secret, 'utf8'));
            return {
                update(updateOptions) {
                    calls.push({ method: 'update', inputEncoding: updateOptions.inputEncoding });
                    if (typeof updateOptions.input !== 'string') {
                        throw suiteScriptError('WRONG_PARAMETER_TYPE', 'options.input must be a string');
                    }
                    const encoding = updateOptions.inputEncoding || ENCODING.UTF_8;
                    hmac.update(Buffer.from(updateOptions.input, encoding === ENCODING.UTF_8 ? 'utf8' : 'latin1'));
                },
                digest(digestOptions) {
                    const encoding = (digestOptions && digestOptions.outputEncoding) || ENCODING.HEX;
                    calls.push({ method: 'digest', outputEncoding: encoding });
                    const bytes = hmac.digest();
                    // Upper case: the documented default is hex, its letter case is not.
                    return encoding === ENCODING.HEX ? bytes.toString('hex').toUpperCase() : bytes.toString('base64');
                },
            };
        },
    };
}

/** https.SecureString: text with `{custsecret…}` placeholders, resolved only when sent. */
class SecureString {
    constructor(input) {
        this.parts = [String(input)];
    }

    appendSecureString(options) {
        if (!(options.secureString instanceof SecureString)) {
            throw suiteScriptError('WRONG_PARAMETER_TYPE', 'options.secureString must be an https.SecureString');
        }
        this.parts = this.parts.concat(options.secureString.parts);
        return this;
    }

    appendString(options) {
        this.parts.push(String(options.input));
        return this;
    }

    toString() {
        return '[object https.SecureString]';
    }

    toJSON() {
        return { type: 'https.SecureString' };
    }
}

/** N/https: records each post; `respond(request)` answers it (or throws). */
function httpsModule(vault, respond) {
    const posts = [];
    return {
        posts,
        Encoding: ENCODING,
        createSecretKey(options) {
            if ((options.guid && options.secret) || (!options.guid && !options.secret)) {
                throw suiteScriptError('MISSING_REQD_ARGUMENT', 'Give options.guid or options.secret');
            }
            return Object.freeze({ guid: options.guid, secret: options.secret, encoding: options.encoding });
        },
        createSecureString(options) {
            return new SecureString(options.input);
        },
        post(options) {
            if (typeof options.url !== 'string' || !options.url.startsWith('https://')) {
                throw suiteScriptError('SSS_INVALID_URL', 'N/https needs an https:// URL');
            }
            const request = { url: options.url, body: options.body, headers: options.headers || {} };
            posts.push(request);
            return respond ? respond(request) : { code: 202, body: '{"outcome":"queued"}', headers: {} };
        },
        /** What NetSuite would send for a header value: a SecureString with its secrets filled in. */
        reveal(value) {
            if (!(value instanceof SecureString)) {
                return value;
            }
            return value.parts.join('').replace(/\{(custsecret[a-zA-Z0-9_]{1,89})\}/g, function (_, id) {
                return secretValue(vault, id);
            });
        },
        SecureString,
    };
}

const CONTEXT_TYPE = Object.freeze({
    CSV_IMPORT: 'CSVIMPORT',
    MAP_REDUCE: 'MAPREDUCE',
    RESTLET: 'RESTLET',
    REST_WEBSERVICES: 'RESTWEBSERVICES',
    SCHEDULED: 'SCHEDULED',
    SUITELET: 'SUITELET',
    USEREVENT: 'USEREVENT',
    USER_INTERFACE: 'USERINTERFACE',
    WEBSERVICES: 'WEBSERVICES',
    WORKFLOW: 'WORKFLOW',
});

/** N/runtime: script parameters, execution context and current user as given. */
function runtimeModule(options) {
    const params = options.params || {};
    return {
        ContextType: CONTEXT_TYPE,
        executionContext: options.executionContext || CONTEXT_TYPE.USER_INTERFACE,
        getCurrentScript() {
            return {
                id: 'customscript_isthmus_ue_events',
                getParameter(parameter) {
                    return Object.prototype.hasOwnProperty.call(params, parameter.name) ? params[parameter.name] : null;
                },
            };
        },
        getCurrentUser() {
            return Object.assign({ id: 7, role: 3, roleId: 'administrator', name: 'Ada Admin' }, options.user || {});
        },
    };
}

/** N/log: keeps every entry. */
function logModule() {
    const entries = [];
    const at = function (level) {
        return function (options) {
            entries.push({ level, title: options.title, details: options.details });
        };
    };
    return { entries, debug: at('debug'), audit: at('audit'), error: at('error'), emergency: at('emergency') };
}

/** N/record: the record.Type values SuiteScript documents. */
function recordModule() {
    return {
        Type: Object.freeze({
            CASH_SALE: 'cashsale',
            CREDIT_MEMO: 'creditmemo',
            CUSTOMER: 'customer',
            CUSTOMER_PAYMENT: 'customerpayment',
            ESTIMATE: 'estimate',
            INVENTORY_ITEM: 'inventoryitem',
            INVOICE: 'invoice',
            ITEM_FULFILLMENT: 'itemfulfillment',
            KIT_ITEM: 'kititem',
            NON_INVENTORY_ITEM: 'noninventoryitem',
            SALES_ORDER: 'salesorder',
            SERVICE_ITEM: 'serviceitem',
            VENDOR: 'vendor',
        }),
    };
}

function resultSet(rows) {
    return { asMappedResults: () => rows.map((row) => Object.assign({}, row)) };
}

/**
 * N/query: `answer(sql, params)` gives the rows of a SuiteQL query; runSuiteQLPaged pages them
 * as NetSuite does (pageSize between 5 and 1000).
 */
function queryModule(answer) {
    const calls = [];
    return {
        calls,
        runSuiteQL(options) {
            calls.push({ method: 'runSuiteQL', query: options.query, params: options.params });
            return resultSet(answer(options.query, options.params || []));
        },
        runSuiteQLPaged(options) {
            calls.push({ method: 'runSuiteQLPaged', query: options.query, params: options.params, pageSize: options.pageSize });
            const size = Number(options.pageSize || 50);
            if (!(size >= 5 && size <= 1000)) {
                throw suiteScriptError('INVALID_PAGE_SIZE', 'pageSize must be between 5 and 1000');
            }
            const rows = answer(options.query, options.params || []);
            const ranges = [];
            for (let index = 0; index * size < rows.length; index += 1) {
                ranges.push({ index, compoundLabel: String(index) });
            }
            return {
                count: rows.length,
                pageSize: size,
                pageRanges: ranges,
                fetch(fetchOptions) {
                    const index = fetchOptions.index;
                    if (!(index >= 0 && index < ranges.length)) {
                        throw suiteScriptError('INVALID_PAGE_RANGE', 'No page ' + index);
                    }
                    calls.push({ method: 'fetch', index });
                    return { data: resultSet(rows.slice(index * size, (index + 1) * size)), isFirst: index === 0, isLast: index === ranges.length - 1 };
                },
            };
        },
    };
}

/** N/error: error.create as SuiteScript documents it. */
function errorModule() {
    return {
        create(options) {
            const error = suiteScriptError(options.name, options.message);
            error.notifyOff = Boolean(options.notifyOff);
            return error;
        },
    };
}

module.exports = {
    ENCODING,
    CONTEXT_TYPE,
    suiteScriptError,
    encodeModule,
    cryptoModule,
    httpsModule,
    runtimeModule,
    logModule,
    recordModule,
    queryModule,
    errorModule,
};
