/**
 * @NApiVersion 2.1
 * @NScriptType Restlet
 * @NModuleScope SameAccount
 */
/**
 * Customer financial summary RESTlet.
 *
 * `GET …/restlet.nl?script=…&deploy=…&customerId=123`, or `POST` with `{"customerId": "123"}`
 * (send `Content-Type: application/json` either way), answers
 * `{"customer_id","balance","overdue_balance","credit_limit","days_overdue","last_payment_date",
 * "last_payment_amount","currency"}` (see lib/financial_summary for the arithmetic).
 *
 * A bad request is thrown as a SuiteScript error, which NetSuite answers with HTTP 400 and
 * `{"error": {"code": …, "message": …}}`:
 * - `SSS_MISSING_REQD_ARGUMENT`: no `customerId`;
 * - `INVALID_CUSTOMER_ID`: a `customerId` that is not an internal id (digits only);
 * - `INVALID_REQUEST`: a POST body that is not a JSON object;
 * - `RCRD_DSNT_EXIST`: no customer has that id (or the caller's role cannot see it).
 * The RESTlet runs with the caller's role, so SuiteQL sees what that role may see.
 */
define(['N/error', 'N/log', './lib/financial_summary'], function (error, log, financialSummary) {
    /** Internal ids are positive integers; 15 digits stay exact in a JavaScript number. */
    const INTERNAL_ID = /^[0-9]{1,15}$/;

    function fail(code, message) {
        return error.create({ name: code, message: message, notifyOff: true });
    }

    /** `customerId` as a positive integer, or throws the matching error. */
    function customerIdOf(value) {
        if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
            throw fail('SSS_MISSING_REQD_ARGUMENT', 'Missing a required argument: customerId');
        }
        let text = '';
        if (typeof value === 'string') {
            text = value.trim();
        } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
            text = String(value);
        }
        if (!INTERNAL_ID.test(text) || Number(text) <= 0) {
            throw fail('INVALID_CUSTOMER_ID',
                'customerId must be a customer internal id (digits only), not ' +
                JSON.stringify(String(value).slice(0, 40)));
        }
        return Number(text);
    }

    /** Today's date in UTC, as the engine counts days overdue. */
    function today() {
        return new Date().toISOString().slice(0, 10);
    }

    function summaryOf(value) {
        const customerId = customerIdOf(value);
        const summary = financialSummary.forCustomer(customerId, today());
        if (!summary) {
            throw fail('RCRD_DSNT_EXIST', 'That record does not exist. customer id: ' + customerId);
        }
        log.debug({ title: 'Isthmus financial summary', details: 'customer ' + customerId });
        return summary;
    }

    /**
     * GET: the summary of `customerId` (a query parameter).
     * @param {Object} requestParams
     */
    function get(requestParams) {
        return summaryOf(requestParams ? requestParams.customerId : undefined);
    }

    /**
     * POST: the summary of the body's `customerId`.
     * @param {Object|string} requestBody the parsed JSON body (or its text, for other content types)
     */
    function post(requestBody) {
        let body = requestBody;
        if (typeof body === 'string') {
            try {
                body = body.trim() === '' ? {} : JSON.parse(body);
            } catch (parseError) {
                throw fail('INVALID_REQUEST', 'The body must be JSON: {"customerId": "123"}');
            }
        }
        if (body === null || body === undefined) {
            body = {};
        }
        if (typeof body !== 'object' || Array.isArray(body)) {
            throw fail('INVALID_REQUEST', 'The body must be a JSON object: {"customerId": "123"}');
        }
        return summaryOf(body.customerId);
    }

    return {
        get: get,
        post: post,
    };
});
