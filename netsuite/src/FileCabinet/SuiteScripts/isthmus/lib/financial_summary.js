/**
 * @NApiVersion 2.1
 * @NModuleScope SameAccount
 */
/**
 * A customer's financial summary, from SuiteQL, with the arithmetic of the Isthmus engine's
 * `finance::summarise` (crates/engine/src/finance/mod.rs):
 *
 * - `balance`: what open invoices still owe less what open credit memos and unapplied payments
 *   hold (amounts remaining, in the transactions' currency, taken as absolute values);
 * - `overdue_balance`: what invoices past their due date still owe; `days_overdue` counts from
 *   the oldest such due date to today (UTC), 0 when nothing is overdue;
 * - `last_payment_date` / `last_payment_amount`: the latest customer payment by date, then id;
 * - `credit_limit`: the customer's, or null; `currency`: the symbol of the customer's currency.
 *
 * Amounts are in the base currency of the customer's subsidiary (`base_currency`): each
 * transaction's amount at its exchange rate (`transaction.exchangerate`), rounded once summed;
 * `by_currency` keeps each transaction currency's own balance and overdue balance.
 *
 * Money is rounded to cents. Only transactions with an amount remaining are read for the
 * balances (those without one add nothing), so a customer with a long history costs no more
 * than one with a few open items; the customer id is always a bound parameter, never SQL text.
 */
define(['N/query'], function (query) {
    /** The largest page SuiteQL serves. */
    const PAGE_SIZE = 1000;
    /** The smallest page SuiteQL serves (enough for the one latest payment). */
    const FIRST_PAGE_SIZE = 5;

    const CUSTOMER_SQL =
        'SELECT c.id, c.creditlimit, cur.symbol AS currency, base.symbol AS basecurrency ' +
        'FROM customer c LEFT JOIN currency cur ON cur.id = c.currency ' +
        'LEFT JOIN subsidiary s ON s.id = c.subsidiary ' +
        'LEFT JOIN currency base ON base.id = s.currency WHERE c.id = ?';

    const OPEN_ITEMS_SQL =
        'SELECT t.id, t.type, TO_CHAR(t.duedate, \'YYYY-MM-DD\') AS duedate, ' +
        't.foreignamountremaining AS remaining, cur.symbol AS currency, t.exchangerate AS rate ' +
        'FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency ' +
        'WHERE t.entity = ? AND t.type IN (\'CustInvc\', \'CustCred\', \'CustPymt\') ' +
        'AND t.foreignamountremaining <> 0 ORDER BY t.id';

    const LAST_PAYMENT_SQL =
        'SELECT t.id, TO_CHAR(t.trandate, \'YYYY-MM-DD\') AS trandate, t.foreigntotal AS total, ' +
        't.exchangerate AS rate ' +
        'FROM transaction t WHERE t.entity = ? AND t.type = \'CustPymt\' ' +
        'ORDER BY t.trandate DESC, t.id DESC';

    const DAY_MS = 24 * 60 * 60 * 1000;

    /** A SuiteQL value as a number, or null. */
    function numberOf(value) {
        if (value === null || value === undefined || value === '') {
            return null;
        }
        const number = Number(value);
        return Number.isFinite(number) ? number : null;
    }

    /** `YYYY-MM-DD` as whole days since 1970-01-01, or null. */
    function dayOf(text) {
        const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text === null || text === undefined ? '' : text));
        if (!match) {
            return null;
        }
        return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
    }

    function cents(value) {
        const rounded = Math.round(value * 100) / 100;
        return rounded === 0 ? 0 : rounded;
    }

    /**
     * The summary of a customer's open receivables and latest payment on `today`.
     * @param {{openItems: Array<{type: string, duedate: ?string, remaining: *}>,
     *          lastPayment: ?{trandate: ?string, total: *}, creditLimit: ?number, today: string}} input
     */
    function summarise(input) {
        const today = dayOf(input.today);
        if (today === null) {
            throw new Error('today must be a YYYY-MM-DD date');
        }
        let owed = 0;
        let credit = 0;
        let overdue = 0;
        let oldestDue = null;
        const byCurrency = {};
        const rateOf = function (row) {
            const rate = numberOf(row.rate);
            return rate === null ? 1 : rate;
        };
        input.openItems.forEach(function (item) {
            const remaining = Math.abs(numberOf(item.remaining) || 0);
            const base = remaining * rateOf(item);
            const own = item.currency ? (byCurrency[item.currency] = byCurrency[item.currency] || { balance: 0, overdue: 0 }) : null;
            if (item.type !== 'CustInvc') {
                credit += base;
                if (own) {
                    own.balance -= remaining;
                }
                return;
            }
            owed += base;
            if (own) {
                own.balance += remaining;
            }
            const due = dayOf(item.duedate);
            if (remaining > 0 && due !== null && due < today) {
                overdue += base;
                if (own) {
                    own.overdue += remaining;
                }
                oldestDue = oldestDue === null ? due : Math.min(oldestDue, due);
            }
        });
        const payment = input.lastPayment;
        const paymentTotal = payment && numberOf(payment.total) !== null
            ? numberOf(payment.total) * rateOf(payment)
            : null;
        return {
            balance: cents(owed - credit),
            overdue_balance: cents(overdue),
            credit_limit: input.creditLimit === undefined ? null : input.creditLimit,
            days_overdue: oldestDue === null ? 0 : today - oldestDue,
            last_payment_date: payment && dayOf(payment.trandate) !== null ? String(payment.trandate) : null,
            last_payment_amount: paymentTotal === null ? null : cents(Math.abs(paymentTotal)),
            by_currency: Object.keys(byCurrency).sort().map(function (code) {
                return {
                    currency: code,
                    balance: cents(byCurrency[code].balance),
                    overdue_balance: cents(byCurrency[code].overdue),
                };
            }),
        };
    }

    function rows(sql, params) {
        return query.runSuiteQL({ query: sql, params: params }).asMappedResults();
    }

    function allPages(sql, params) {
        const paged = query.runSuiteQLPaged({ query: sql, params: params, pageSize: PAGE_SIZE });
        const all = [];
        for (let index = 0; index < paged.pageRanges.length; index += 1) {
            Array.prototype.push.apply(all, paged.fetch({ index: index }).data.asMappedResults());
        }
        return all;
    }

    function firstRow(sql, params) {
        const paged = query.runSuiteQLPaged({ query: sql, params: params, pageSize: FIRST_PAGE_SIZE });
        if (paged.pageRanges.length === 0) {
            return null;
        }
        return paged.fetch({ index: 0 }).data.asMappedResults()[0] || null;
    }

    /**
     * The summary of customer `customerId` on `today` (`YYYY-MM-DD`), or null when there is no
     * such customer.
     * @param {number} customerId an internal id
     * @param {string} today
     */
    function forCustomer(customerId, today) {
        const customer = rows(CUSTOMER_SQL, [customerId])[0];
        if (!customer) {
            return null;
        }
        const summary = summarise({
            openItems: allPages(OPEN_ITEMS_SQL, [customerId]),
            lastPayment: firstRow(LAST_PAYMENT_SQL, [customerId]),
            creditLimit: numberOf(customer.creditlimit),
            today: today,
        });
        return {
            customer_id: String(customerId),
            balance: summary.balance,
            overdue_balance: summary.overdue_balance,
            credit_limit: summary.credit_limit,
            days_overdue: summary.days_overdue,
            last_payment_date: summary.last_payment_date,
            last_payment_amount: summary.last_payment_amount,
            currency: customer.currency === null || customer.currency === undefined || customer.currency === ''
                ? null
                : String(customer.currency),
            base_currency: customer.basecurrency ? String(customer.basecurrency) : null,
            by_currency: summary.by_currency,
        };
    }

    return {
        summarise: summarise,
        forCustomer: forCustomer,
    };
});
