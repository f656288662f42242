'use strict';
// The financial summary RESTlet: its arithmetic (the engine's, crates/engine/src/finance), the
// SuiteQL it runs (the customer id always a bound parameter), and its error answers.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');

const { loadModule } = require('./support/amd');
const mocks = require('./support/netsuite_mocks');

/** A `Date` whose "now" is `iso`, for the module under test only. */
function dateAt(iso) {
    const now = Date.parse(iso);
    return class FixedDate extends Date {
        constructor(...args) {
            if (args.length === 0) {
                super(now);
            } else {
                super(...args);
            }
        }

        static now() {
            return now;
        }
    };
}

/**
 * A small account: customers by id, and transactions (type, trandate, duedate, total, remaining)
 * by customer. Answers the RESTlet's SuiteQL by what it selects.
 */
function account(customers, transactions) {
    return function answer(sql, params) {
        assert.deepEqual(params.length, 1, 'one bound parameter: the customer id');
        assert.equal(typeof params[0], 'number');
        const id = params[0];
        if (/\bFROM customer c\b/.test(sql)) {
            const customer = customers[id];
            return customer ? [Object.assign({ id }, customer)] : [];
        }
        const mine = (transactions[id] || []).slice();
        if (/t\.foreignamountremaining <> 0/.test(sql)) {
            return mine
                .filter((t) => ['CustInvc', 'CustCred', 'CustPymt'].includes(t.type) && Number(t.remaining) !== 0)
                .sort((a, b) => a.id - b.id)
                .map((t) => ({ id: t.id, type: t.type, duedate: t.duedate || null, remaining: t.remaining }));
        }
        if (/t\.type = 'CustPymt'/.test(sql)) {
            return mine
                .filter((t) => t.type === 'CustPymt')
                .sort((a, b) => (a.trandate === b.trandate ? b.id - a.id : a.trandate < b.trandate ? 1 : -1))
                .map((t) => ({ id: t.id, trandate: t.trandate, total: t.total }));
        }
        throw new Error('unexpected SuiteQL: ' + sql);
    };
}

function harness(customers, transactions, now) {
    const query = mocks.queryModule(account(customers, transactions));
    const log = mocks.logModule();
    const restlet = loadModule('isthmus_summary_rl.js', {
        'N/error': mocks.errorModule(),
        'N/log': log,
        'N/query': query,
    }, { globals: { Date: dateAt(now || '2026-11-28T15:30:00Z') } });
    return { restlet, query, log };
}

// The engine's own test case (a_summary_counts_what_is_owed_overdue_and_last_paid), as NetSuite
// would store it: credit memos and payments with negative amounts.
const CUSTOMERS = {
    42: { creditlimit: 5000, currency: 'USD' },
    43: { creditlimit: null, currency: 'EUR' },
};
const TRANSACTIONS = {
    42: [
        { id: 1, type: 'CustInvc', trandate: '2026-10-01', duedate: '2026-10-31', total: 500, remaining: 250 },
        { id: 2, type: 'CustInvc', trandate: '2026-11-01', duedate: '2026-12-31', total: 300, remaining: 300 },
        { id: 3, type: 'CustPymt', trandate: '2026-11-02', total: -250, remaining: 0 },
        { id: 4, type: 'CustCred', trandate: '2026-11-03', total: -40, remaining: -40 },
        { id: 5, type: 'CustPymt', trandate: '2026-11-10', total: -60, remaining: -60 },
        { id: 6, type: 'CustInvc', trandate: '2026-09-01', duedate: '2026-09-30', total: 100, remaining: 0 },
    ],
};

describe('the financial summary', () => {
    it('answers what the engine computes for the same transactions', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.deepEqual(restlet.get({ customerId: '42' }), {
            customer_id: '42',
            balance: 250 + 300 - 40 - 60,
            overdue_balance: 250,
            credit_limit: 5000,
            days_overdue: 28,
            last_payment_date: '2026-11-10',
            last_payment_amount: 60,
            currency: 'USD',
            base_currency: null,
            by_currency: [],
        });
    });

    it('keeps the field order of the documented answer', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.deepEqual(Object.keys(restlet.get({ customerId: '42' })), ['customer_id', 'balance', 'overdue_balance',
            'credit_limit', 'days_overdue', 'last_payment_date', 'last_payment_amount', 'currency', 'base_currency',
            'by_currency']);
    });

    it('answers zeros and nulls for a customer without transactions or credit limit', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.deepEqual(restlet.get({ customerId: '43' }), {
            customer_id: '43',
            balance: 0,
            overdue_balance: 0,
            credit_limit: null,
            days_overdue: 0,
            last_payment_date: null,
            last_payment_amount: null,
            currency: 'EUR',
            base_currency: null,
            by_currency: [],
        });
    });

    it('counts days overdue from the oldest overdue due date to today in UTC', () => {
        const transactions = {
            42: [
                { id: 1, type: 'CustInvc', duedate: '2026-11-20', remaining: 10 },
                { id: 2, type: 'CustInvc', duedate: '2026-11-27', remaining: 5 },
                { id: 3, type: 'CustInvc', duedate: '2026-11-28', remaining: 7 },
            ],
        };
        const late = harness(CUSTOMERS, transactions, '2026-11-28T23:59:59Z').restlet.get({ customerId: '42' });
        assert.equal(late.days_overdue, 8);
        assert.equal(late.overdue_balance, 15, 'due today is not overdue');
        const nextDay = harness(CUSTOMERS, transactions, '2026-11-29T00:00:01Z').restlet.get({ customerId: '42' });
        assert.equal(nextDay.days_overdue, 9);
        assert.equal(nextDay.overdue_balance, 22);
    });

    it('rounds money to cents', () => {
        const transactions = {
            42: [
                { id: 1, type: 'CustInvc', duedate: '2026-01-01', remaining: 0.1 },
                { id: 2, type: 'CustInvc', duedate: '2026-01-01', remaining: 0.2 },
                { id: 3, type: 'CustCred', remaining: '-0.005' },
            ],
        };
        const summary = harness(CUSTOMERS, transactions).restlet.get({ customerId: '42' });
        assert.equal(summary.balance, 0.3);
        assert.equal(summary.overdue_balance, 0.3);
    });

    it('reads open items over every page of SuiteQL results', () => {
        const many = [];
        for (let id = 1; id <= 2500; id += 1) {
            many.push({ id, type: 'CustInvc', duedate: '2027-01-01', remaining: 2 });
        }
        const { restlet, query } = harness(CUSTOMERS, { 42: many });
        assert.equal(restlet.get({ customerId: '42' }).balance, 5000);
        assert.deepEqual(query.calls.filter((c) => c.method === 'fetch').map((c) => c.index), [0, 1, 2]);
        const paged = query.calls.filter((c) => c.method === 'runSuiteQLPaged');
        assert.equal(paged[0].pageSize, 1000);
        assert.match(paged[0].query, /ORDER BY t\.id$/, 'pages over a unique sort order');
    });

    it('takes the latest payment by date, then by id', () => {
        const transactions = {
            42: [
                { id: 8, type: 'CustPymt', trandate: '2026-11-10', total: -10, remaining: 0 },
                { id: 9, type: 'CustPymt', trandate: '2026-11-10', total: -25.5, remaining: 0 },
                { id: 20, type: 'CustPymt', trandate: '2026-10-01', total: -99, remaining: 0 },
            ],
        };
        const summary = harness(CUSTOMERS, transactions).restlet.get({ customerId: '42' });
        assert.equal(summary.last_payment_date, '2026-11-10');
        assert.equal(summary.last_payment_amount, 25.5);
    });

    it('binds the customer id as a parameter, never as SQL text', () => {
        const { restlet, query } = harness(CUSTOMERS, TRANSACTIONS);
        restlet.get({ customerId: '42' });
        const sql = query.calls.filter((c) => c.query);
        assert.equal(sql.length, 3);
        for (const call of sql) {
            assert.match(call.query, /= \?/);
            assert.doesNotMatch(call.query, /42/);
            assert.deepEqual(call.params, [42]);
        }
    });

    it('answers POST with a JSON object body, or its text', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.equal(restlet.post({ customerId: '42' }).balance, 450);
        assert.equal(restlet.post({ customerId: 42 }).balance, 450);
        assert.equal(restlet.post('{"customerId":"42"}').overdue_balance, 250);
    });
});

describe('the error answers', () => {
    function thrown(fn) {
        try {
            fn();
        } catch (error) {
            return { code: error.name, message: error.message, notifyOff: error.notifyOff };
        }
        assert.fail('expected an error');
    }

    it('name a missing customer id', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        for (const call of [() => restlet.get({}), () => restlet.get({ customerId: '' }), () => restlet.get({ customerId: '  ' }),
            () => restlet.get(undefined), () => restlet.post({}), () => restlet.post(''), () => restlet.post(null)]) {
            assert.deepEqual(thrown(call), {
                code: 'SSS_MISSING_REQD_ARGUMENT',
                message: 'Missing a required argument: customerId',
                notifyOff: true,
            });
        }
    });

    it('name a malformed customer id, and run no query for it', () => {
        const { restlet, query } = harness(CUSTOMERS, TRANSACTIONS);
        for (const bad of ['12a', '1 OR 1=1', "42'; --", '-3', '0', '4.5', '1e3', '1234567890123456', 'null']) {
            const error = thrown(() => restlet.get({ customerId: bad }));
            assert.equal(error.code, 'INVALID_CUSTOMER_ID', bad);
            assert.match(error.message, /^customerId must be a customer internal id \(digits only\), not "/);
        }
        for (const bad of [4.5, -1, 0, Number.MAX_SAFE_INTEGER + 2, true, ['42'], { id: 42 }]) {
            assert.equal(thrown(() => restlet.post({ customerId: bad })).code, 'INVALID_CUSTOMER_ID', String(bad));
        }
        assert.equal(query.calls.length, 0);
    });

    it('name an unknown customer', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.deepEqual(thrown(() => restlet.get({ customerId: '999' })), {
            code: 'RCRD_DSNT_EXIST',
            message: 'That record does not exist. customer id: 999',
            notifyOff: true,
        });
    });

    it('name a POST body that is not a JSON object', () => {
        const { restlet } = harness(CUSTOMERS, TRANSACTIONS);
        assert.equal(thrown(() => restlet.post('{customerId: 42')).code, 'INVALID_REQUEST');
        assert.equal(thrown(() => restlet.post('[42]')).code, 'INVALID_REQUEST');
        assert.equal(thrown(() => restlet.post('42')).code, 'INVALID_REQUEST');
    });
});

describe('summarise', () => {
    const { summarise } = loadModule('lib/financial_summary.js', { 'N/query': mocks.queryModule(() => []) });

    it('refuses a today that is not a date', () => {
        assert.throws(() => summarise({ openItems: [], lastPayment: null, creditLimit: null, today: '28/11/2026' }),
            /today must be a YYYY-MM-DD date/);
    });

    it('ignores invoices without a due date for overdue, but not for the balance', () => {
        const summary = summarise({
            openItems: [{ type: 'CustInvc', duedate: null, remaining: '12.50' }],
            lastPayment: { trandate: '2026-11-01', total: '-3' },
            creditLimit: 100,
            today: '2026-11-28',
        });
        assert.deepEqual(summary, {
            balance: 12.5,
            overdue_balance: 0,
            credit_limit: 100,
            days_overdue: 0,
            last_payment_date: '2026-11-01',
            last_payment_amount: 3,
            by_currency: [],
        });
    });

    it('totals in the base currency at each transaction\'s rate and keeps each currency\'s own', () => {
        const summary = summarise({
            openItems: [
                { type: 'CustInvc', duedate: '2026-11-01', remaining: '100', currency: 'EUR', rate: '1.1' },
                { type: 'CustInvc', duedate: '2026-12-31', remaining: '50', currency: 'USD', rate: '1' },
                { type: 'CustPymt', remaining: '-10', currency: 'USD', rate: '1' },
            ],
            lastPayment: { trandate: '2026-11-02', total: '-10', rate: '1.1' },
            creditLimit: null,
            today: '2026-11-28',
        });
        assert.equal(summary.balance, 150);
        assert.equal(summary.overdue_balance, 110);
        assert.equal(summary.last_payment_amount, 11);
        assert.deepEqual(summary.by_currency, [
            { currency: 'EUR', balance: 100, overdue_balance: 100 },
            { currency: 'USD', balance: 40, overdue_balance: 0 },
        ]);
    });
});
