/**
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 */
/**
 * Isthmus record events: after a customer, an item, a sales order, an item fulfillment, an
 * invoice, a customer payment or a credit memo is saved, tells the Isthmus gateway which record
 * changed, so Isthmus reads it and carries it to Salesforce.
 *
 * `POST <gateway>/v1/netsuite/events[?mode=async]` with the JSON body
 * `{"record_type": <record.Type value>, "id": "<internal id>", "event_type": "create|edit|xedit|delete",
 *   "event_id": "<unique per event>"}`
 * and the headers `Content-Type: application/json`, `Authorization: Bearer <API key>`,
 * `X-Isthmus-Timestamp: <unix seconds>` and `X-Isthmus-Signature: v2=<hex HMAC-SHA256 over
 * "<timestamp>.POST.<path?query>.<body>">` (see lib/event_signing).
 *
 * Guarantees:
 * - it never blocks or fails the user's save: every error is caught and logged (N/log), never
 *   with a secret or the signature, and the entry point returns;
 * - it stays quiet for the integration's own writes: a change made by a user or role listed in
 *   the script parameters, or in a listed execution context, is not sent back (Isthmus also
 *   drops echoes by content hash, so a missed skip costs a read, not a loop);
 * - it asks the gateway to queue the event (`mode=async`, the default) so the answer comes once
 *   the event is durable, not after the sync: NetSuite's own limits (5 s to connect, 45 s to send)
 *   cannot be shortened from SuiteScript, so the gateway is asked to answer at once.
 *
 * Actions other than create/edit/xedit/delete that change a record (approve, cancel, ship, …)
 * are sent as `edit`: the gateway reads the record as it is now either way.
 */
define(['N/https', 'N/log', 'N/record', 'N/runtime', './lib/event_signing'], function (https, log, record, runtime, signing) {
    /** Script parameter ids (see Objects/customscript_isthmus_ue_events.xml). */
    const PARAM = {
        gatewayUrl: 'custscript_isthmus_gateway_url',
        hmacSecret: 'custscript_isthmus_hmac_secret',
        apiKeySecret: 'custscript_isthmus_api_key_secret',
        skipUsers: 'custscript_isthmus_skip_users',
        skipRoles: 'custscript_isthmus_skip_roles',
        skipContexts: 'custscript_isthmus_skip_contexts',
        async: 'custscript_isthmus_async',
    };

    /** The API Secrets used when the parameters are left empty. */
    const DEFAULT_HMAC_SECRET = 'custsecret_isthmus_hmac';
    const DEFAULT_API_KEY_SECRET = 'custsecret_isthmus_api_key';

    /** The gateway's route for NetSuite events. */
    const EVENTS_PATH = '/v1/netsuite/events';

    /** `context.type` → the gateway's `event_type`; other types are not sent. */
    const EVENT_TYPES = {
        create: 'create',
        edit: 'edit',
        xedit: 'xedit',
        delete: 'delete',
        approve: 'edit',
        reject: 'edit',
        cancel: 'edit',
        pack: 'edit',
        ship: 'edit',
        markcomplete: 'edit',
        dropship: 'edit',
        specialorder: 'edit',
        orderitems: 'edit',
        paybills: 'edit',
        reassign: 'edit',
        editforecast: 'edit',
    };

    /** The record types Isthmus follows (each has a deployment). */
    function trackedTypes() {
        return [
            record.Type.CUSTOMER,
            record.Type.INVENTORY_ITEM,
            record.Type.NON_INVENTORY_ITEM,
            record.Type.SERVICE_ITEM,
            record.Type.KIT_ITEM,
            record.Type.SALES_ORDER,
            record.Type.ITEM_FULFILLMENT,
            record.Type.INVOICE,
            record.Type.CUSTOMER_PAYMENT,
            record.Type.CREDIT_MEMO,
            record.Type.ESTIMATE,
        ];
    }

    /**
     * The event to send for this save, or null when there is none. `event_id` makes every event
     * (hence its signature) unique: two saves of one record within a second are two events, and
     * the gateway's one-use-per-signature replay check refuses only a real replay.
     * @returns {{record_type: string, id: string, event_type: string, event_id: string}|null}
     */
    function eventOf(context) {
        const eventType = EVENT_TYPES[String(context.type)];
        if (!eventType) {
            return null;
        }
        const saved = eventType === 'delete'
            ? context.oldRecord || context.newRecord
            : context.newRecord || context.oldRecord;
        if (!saved || saved.id === null || saved.id === undefined || saved.id === '') {
            return null;
        }
        const recordType = String(saved.type);
        if (trackedTypes().indexOf(recordType) < 0) {
            return null;
        }
        return {
            record_type: recordType,
            id: String(saved.id),
            event_type: eventType,
            event_id: Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12),
        };
    }

    /** Comma- or whitespace-separated values of a text parameter. */
    function listOf(value) {
        return String(value === null || value === undefined ? '' : value)
            .split(/[\s,]+/)
            .filter(function (item) { return item !== ''; });
    }

    function textOf(script, name) {
        const value = script.getParameter({ name: name });
        return value === null || value === undefined ? '' : String(value).trim();
    }

    /** The script parameters of this deployment. */
    function settingsOf() {
        const script = runtime.getCurrentScript();
        const async = script.getParameter({ name: PARAM.async });
        return {
            gatewayUrl: textOf(script, PARAM.gatewayUrl),
            hmacSecret: textOf(script, PARAM.hmacSecret) || DEFAULT_HMAC_SECRET,
            apiKeySecret: textOf(script, PARAM.apiKeySecret) || DEFAULT_API_KEY_SECRET,
            skipUsers: listOf(textOf(script, PARAM.skipUsers)),
            skipRoles: listOf(textOf(script, PARAM.skipRoles)).map(function (r) { return r.toLowerCase(); }),
            skipContexts: listOf(textOf(script, PARAM.skipContexts)).map(function (c) { return c.toUpperCase(); }),
            // An unset checkbox reads as null/''; only an explicit false turns queueing off.
            async: !(async === false || async === 'F'),
        };
    }

    /**
     * Why this save is the integration's own and must not be sent, or null.
     * A listed context matches by its `runtime.ContextType` key (`REST_WEBSERVICES`) or value
     * (`RESTWEBSERVICES`); a listed role by internal id or script id (`customrole_…`).
     */
    function integrationWrite(settings) {
        const current = String(runtime.executionContext || '').toUpperCase();
        const context = settings.skipContexts.find(function (name) {
            const value = runtime.ContextType[name];
            return name === current || (value !== undefined && String(value).toUpperCase() === current);
        });
        if (context) {
            return 'execution context ' + current;
        }
        const user = runtime.getCurrentUser();
        if (settings.skipUsers.indexOf(String(user.id)) >= 0) {
            return 'user ' + user.id;
        }
        const roles = [String(user.role).toLowerCase(), String(user.roleId || '').toLowerCase()];
        if (settings.skipRoles.some(function (role) { return roles.indexOf(role) >= 0; })) {
            return 'role ' + (user.roleId || user.role);
        }
        return null;
    }

    /**
     * The events URL and the request target the gateway sees (and the signature covers), or
     * throws when the gateway parameter is not an https URL.
     */
    function eventsUrl(settings) {
        const base = settings.gatewayUrl.replace(/\/+$/, '');
        if (!/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i.test(base)) {
            throw new Error(PARAM.gatewayUrl + ' must be the https:// base URL of the Isthmus gateway');
        }
        const target = EVENTS_PATH + (settings.async ? '?mode=async' : '');
        return { url: base + target, target: target };
    }

    /** `text` with every value in `hidden` cut out, at most `limit` characters. */
    function redact(text, hidden, limit) {
        let shown = String(text);
        hidden.forEach(function (value) {
            if (value) {
                shown = shown.split(value).join('[redacted]');
            }
        });
        return shown.slice(0, limit);
    }

    /** An error as one log line, with every value in `hidden` cut out. */
    function describeError(error, hidden) {
        const text = error && (error.name || error.message)
            ? String(error.name || 'Error') + ': ' + String(error.message || '')
            : String(error);
        return redact(text, hidden, 1000);
    }

    function label(event) {
        return event.record_type + ' ' + event.id + ' (' + event.event_type + ')';
    }

    function send(event, settings, hidden) {
        const events = eventsUrl(settings);
        const body = JSON.stringify(event);
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signed = signing.signature({
            secretId: settings.hmacSecret,
            timestamp: timestamp,
            method: 'POST',
            target: events.target,
            body: body,
        });
        hidden.push(signed, signed.slice(3));
        const response = https.post({
            url: events.url,
            body: body,
            headers: {
                'Content-Type': 'application/json',
                'Authorization': signing.bearer(settings.apiKeySecret),
                'X-Isthmus-Timestamp': timestamp,
                'X-Isthmus-Signature': signed,
            },
        });
        const code = Number(response.code);
        if (code >= 200 && code < 300) {
            log.debug({ title: 'Isthmus event sent', details: label(event) + ': HTTP ' + code });
            return;
        }
        log.error({
            title: 'Isthmus gateway refused an event',
            details: label(event) + ': HTTP ' + code + ' ' +
                redact(response.body === undefined || response.body === null ? '' : response.body, hidden, 500),
        });
    }

    /**
     * afterSubmit: sends the event; never throws.
     * @param {Object} context the user event context
     */
    function afterSubmit(context) {
        const hidden = [];
        let event = null;
        try {
            event = eventOf(context);
            if (!event) {
                return;
            }
            const settings = settingsOf();
            const own = integrationWrite(settings);
            if (own) {
                log.debug({ title: 'Isthmus event skipped', details: label(event) + ': made by the integration (' + own + ')' });
                return;
            }
            send(event, settings, hidden);
        } catch (error) {
            try {
                log.error({
                    title: 'Isthmus event not sent',
                    details: (event ? label(event) : 'record event') + ': ' + describeError(error, hidden),
                });
            } catch (ignored) {
                // Logging must not fail the save either.
            }
        }
    }

    return {
        afterSubmit: afterSubmit,
    };
});
