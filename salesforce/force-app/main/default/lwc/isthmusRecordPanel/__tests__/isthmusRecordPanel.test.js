import { createElement } from "lwc";
import IsthmusRecordPanel from "c/isthmusRecordPanel";
import getStatus from "@salesforce/apex/IsthmusRecordPanelController.getStatus";
import resolveConflict from "@salesforce/apex/IsthmusRecordPanelController.resolveConflict";
import { notifyRecordUpdateAvailable } from "lightning/uiRecordApi";

jest.mock("@salesforce/apex/IsthmusRecordPanelController.getStatus", () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock("@salesforce/apex/IsthmusRecordPanelController.resolveConflict", () => ({ default: jest.fn() }), {
    virtual: true
});

const ACCOUNT_ID = "0015g00000ABCDEAAA";
const OPPORTUNITY_ID = "0065g00000FGHIJAAA";
const CONFLICT_ID = "0123456789abcdef0123456789abcdef";

/** The controller's Panel for an account linked to NetSuite customer 126. */
function linkedAccount(overrides = {}) {
    return {
        objectApiName: "Account",
        linked: true,
        netsuiteId: "126",
        netsuiteRecordLabel: "NetSuite customer 126",
        netsuiteUrl: "https://1234567.app.netsuite.com/app/common/entity/custjob.nl?id=126",
        syncedAt: "2025-12-06T05:46:40.000Z",
        lastSync: {
            ranAt: "2025-12-06T05:46:40.000Z",
            flow: "account_to_customer",
            outcome: "updated",
            traceId: "4bf92f3577b34da6a3ce929d0e0e4736"
        },
        conflicts: [],
        canResolve: false,
        salesOrder: null,
        ...overrides
    };
}

function phoneConflict() {
    return {
        id: CONFLICT_ID,
        field: "phone",
        salesforceValue: "+1 555 0100",
        netsuiteValue: "+1 555 0199",
        lastSyncedValue: "+1 555 0000",
        policy: "manual",
        detectedAt: "2025-12-06T05:51:40.000Z"
    };
}

function shippedOpportunity() {
    return linkedAccount({
        objectApiName: "Opportunity",
        netsuiteId: "5001",
        netsuiteRecordLabel: "NetSuite sales order 5001",
        netsuiteUrl: "https://1234567.app.netsuite.com/app/accounting/transactions/salesord.nl?id=5001",
        salesOrder: {
            orderNumber: "SO1042",
            status: "Pending Billing/Partially Fulfilled",
            billingStatus: "Partially Billed",
            shipStatus: "Partially Shipped",
            shipDate: "2025-12-02",
            trackingNumbers: "1Z999AA10123456784",
            shipments: [
                {
                    id: "a035g00000000001AAA",
                    name: "IF-91",
                    netsuiteId: "8805",
                    shipDate: "2025-12-05",
                    shipStatus: "Picked",
                    carrier: "FedEx"
                },
                {
                    id: "a035g00000000002AAA",
                    name: "IF-88",
                    netsuiteId: "8801",
                    shipDate: "2025-12-02",
                    shipStatus: "Shipped",
                    carrier: "UPS",
                    trackingNumbers: "1Z999AA10123456784"
                }
            ],
            invoices: [
                {
                    id: "a015g00000000001AAA",
                    name: "INV-7001",
                    netsuiteId: "7001",
                    invoiceDate: "2025-12-03",
                    dueDate: "2026-01-02",
                    status: "Open",
                    total: 1200,
                    amountRemaining: 200,
                    currencyIsoCode: "USD"
                }
            ]
        }
    });
}

/** An error as an imperative Apex call rejects with an AuraHandledException. */
function apexError(message) {
    return { body: { message }, status: 500, statusText: "Server Error" };
}

/** Lets the pending Apex promises settle and the component re-render. */
async function flushPromises() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function mount(recordId = ACCOUNT_ID, objectApiName = "Account") {
    const element = createElement("c-isthmus-record-panel", { is: IsthmusRecordPanel });
    element.recordId = recordId;
    element.objectApiName = objectApiName;
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

function text(element, selector) {
    const found = element.shadowRoot.querySelector(selector);
    return found ? found.textContent.replace(/\s+/g, " ").trim() : null;
}

function buttons(element, label) {
    return [...element.shadowRoot.querySelectorAll("lightning-button")].filter((b) => b.label === label);
}

describe("c-isthmus-record-panel", () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it("shows a linked account's NetSuite customer as a link, with its last sync", async () => {
        getStatus.mockResolvedValue(linkedAccount());

        const element = await mount();

        expect(getStatus).toHaveBeenCalledWith({ recordId: ACCOUNT_ID });
        expect(element.shadowRoot.querySelector("lightning-card").title).toBe("NetSuite");
        expect(element.shadowRoot.querySelector("lightning-badge").label).toBe("Linked");
        const link = element.shadowRoot.querySelector("a.netsuite-link");
        expect(link.href).toBe("https://1234567.app.netsuite.com/app/common/entity/custjob.nl?id=126");
        expect(link.target).toBe("_blank");
        expect(link.rel).toBe("noopener noreferrer");
        expect(link.textContent.trim()).toBe("NetSuite customer 126");
        expect(element.shadowRoot.querySelector(".synced-at lightning-formatted-date-time").value).toBe(
            "2025-12-06T05:46:40.000Z"
        );
        expect(text(element, ".last-sync")).toContain("Updated");
        expect(text(element, ".no-conflicts")).toBe("No open conflicts.");
        expect(element.shadowRoot.querySelector(".sales-order")).toBeNull();
        expect(element.shadowRoot.querySelector(".load-error")).toBeNull();
    });

    it("says when a record is not linked and was never synced", async () => {
        getStatus.mockResolvedValue(
            linkedAccount({
                linked: false,
                netsuiteId: null,
                netsuiteRecordLabel: null,
                netsuiteUrl: null,
                syncedAt: null,
                lastSync: null
            })
        );

        const element = await mount();

        expect(element.shadowRoot.querySelector("lightning-badge").label).toBe("Not linked");
        expect(element.shadowRoot.querySelector("a.netsuite-link")).toBeNull();
        expect(text(element, ".synced-at")).toBe("Never");
        expect(element.shadowRoot.querySelector(".last-sync")).toBeNull();
    });

    it("shows an opportunity's order, shipments and invoices", async () => {
        getStatus.mockResolvedValue(shippedOpportunity());

        const element = await mount(OPPORTUNITY_ID, "Opportunity");

        expect(getStatus).toHaveBeenCalledWith({ recordId: OPPORTUNITY_ID });
        expect(element.shadowRoot.querySelector("a.netsuite-link").textContent.trim()).toBe(
            "NetSuite sales order 5001"
        );
        expect(text(element, ".order-number")).toBe("SO1042");
        expect(text(element, ".order-status")).toBe("Pending Billing/Partially Fulfilled");
        expect(text(element, ".billing-status")).toBe("Partially Billed");
        expect(text(element, ".ship-status")).toBe("Partially Shipped");
        expect(text(element, ".tracking")).toBe("1Z999AA10123456784");

        const shipments = element.shadowRoot.querySelectorAll("table.shipments tbody tr");
        expect(shipments).toHaveLength(2);
        expect(shipments[0].textContent).toContain("IF-91");
        expect(shipments[0].textContent).toContain("FedEx");
        expect(shipments[1].textContent).toContain("1Z999AA10123456784");
        expect(shipments[0].querySelector("a").getAttribute("href")).toBe("/lightning/r/a035g00000000001AAA/view");

        const invoices = element.shadowRoot.querySelectorAll("table.invoices tbody tr");
        expect(invoices).toHaveLength(1);
        expect(invoices[0].textContent).toContain("INV-7001");
        expect(invoices[0].textContent).toContain("Open");
        const amounts = invoices[0].querySelectorAll("lightning-formatted-number");
        expect([...amounts].map((n) => [n.value, n.currencyCode])).toEqual([
            [1200, "USD"],
            [200, "USD"]
        ]);
    });

    it("says so when an opportunity has no shipments or invoices yet", async () => {
        const fresh = shippedOpportunity();
        fresh.salesOrder = { ...fresh.salesOrder, shipments: [], invoices: [] };
        getStatus.mockResolvedValue(fresh);

        const element = await mount(OPPORTUNITY_ID, "Opportunity");

        expect(element.shadowRoot.querySelector("table.shipments")).toBeNull();
        expect(text(element, ".no-shipments")).toBe("No shipments yet.");
        expect(text(element, ".no-invoices")).toBe("No invoices yet.");
    });

    it("lists open conflicts without resolve buttons for a user who may not resolve", async () => {
        getStatus.mockResolvedValue(linkedAccount({ conflicts: [phoneConflict()], canResolve: false }));

        const element = await mount();

        expect(text(element, ".conflicts-title")).toBe("Open conflicts (1)");
        expect(text(element, ".conflict-field")).toBe("phone");
        expect(text(element, ".salesforce-value")).toBe("+1 555 0100");
        expect(text(element, ".netsuite-value")).toBe("+1 555 0199");
        expect(text(element, ".last-synced-value")).toBe("+1 555 0000");
        expect(text(element, ".policy")).toBe("manual");
        expect(buttons(element, "Keep Salesforce")).toHaveLength(0);
        expect(buttons(element, "Keep NetSuite")).toHaveLength(0);
        expect(buttons(element, "Use this value")).toHaveLength(0);
        expect(element.shadowRoot.querySelector("lightning-input")).toBeNull();
    });

    it("offers Keep Salesforce, Keep NetSuite and a value of one's own to a user who may resolve", async () => {
        getStatus.mockResolvedValue(linkedAccount({ conflicts: [phoneConflict()], canResolve: true }));

        const element = await mount();

        expect(buttons(element, "Keep Salesforce")).toHaveLength(1);
        expect(buttons(element, "Keep NetSuite")).toHaveLength(1);
        const useValue = buttons(element, "Use this value")[0];
        expect(useValue.disabled).toBe(true);
        expect(element.shadowRoot.querySelector("lightning-input").label).toBe("Value for phone in both systems");
    });

    it("keeps NetSuite's value on Keep NetSuite, then tells the user and reloads", async () => {
        getStatus
            .mockResolvedValueOnce(linkedAccount({ conflicts: [phoneConflict()], canResolve: true }))
            .mockResolvedValueOnce(linkedAccount({ conflicts: [], canResolve: true }));
        resolveConflict.mockResolvedValue({
            id: CONFLICT_ID,
            field: "phone",
            winner: "netsuite",
            resolvedValue: "+1 555 0199",
            summary: "Kept the NetSuite value of phone: +1 555 0199."
        });
        const element = await mount();
        const toasts = [];
        element.addEventListener("lightning__showtoast", (event) => toasts.push(event.detail));

        buttons(element, "Keep NetSuite")[0].click();
        await flushPromises();

        expect(resolveConflict).toHaveBeenCalledTimes(1);
        expect(resolveConflict).toHaveBeenCalledWith({ conflictId: CONFLICT_ID, choose: "netsuite", value: null });
        expect(toasts).toEqual([
            expect.objectContaining({
                title: "Conflict resolved",
                message: "Kept the NetSuite value of phone: +1 555 0199.",
                variant: "success"
            })
        ]);
        expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: ACCOUNT_ID }]);
        expect(getStatus).toHaveBeenCalledTimes(2);
        expect(text(element, ".no-conflicts")).toBe("No open conflicts.");
    });

    it("sends a typed value with Use this value", async () => {
        getStatus.mockResolvedValue(linkedAccount({ conflicts: [phoneConflict()], canResolve: true }));
        resolveConflict.mockResolvedValue({ summary: "Set phone to +1 555 0142 in Salesforce and NetSuite." });
        const element = await mount();

        const input = element.shadowRoot.querySelector("lightning-input");
        input.value = "+1 555 0142";
        input.dispatchEvent(new CustomEvent("change", { detail: { value: "+1 555 0142" } }));
        await flushPromises();
        const useValue = buttons(element, "Use this value")[0];
        expect(useValue.disabled).toBe(false);
        useValue.click();
        await flushPromises();

        expect(resolveConflict).toHaveBeenCalledWith({ conflictId: CONFLICT_ID, choose: "value", value: "+1 555 0142" });
    });

    it("holds every resolve button while a resolution is on its way", async () => {
        getStatus.mockResolvedValue(linkedAccount({ conflicts: [phoneConflict()], canResolve: true }));
        let answer;
        resolveConflict.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        const element = await mount();

        buttons(element, "Keep Salesforce")[0].click();
        await flushPromises();

        expect(buttons(element, "Keep Salesforce")[0].disabled).toBe(true);
        expect(buttons(element, "Keep NetSuite")[0].disabled).toBe(true);
        expect(element.shadowRoot.querySelector("lightning-input").disabled).toBe(true);

        answer({ summary: "Kept the Salesforce value of phone: +1 555 0100." });
        await flushPromises();

        expect(buttons(element, "Keep Salesforce")[0].disabled).toBe(false);
    });

    it("shows why a resolution failed and keeps the conflicts on screen", async () => {
        getStatus.mockResolvedValue(linkedAccount({ conflicts: [phoneConflict()], canResolve: true }));
        resolveConflict.mockRejectedValue(
            apexError("This conflict is no longer open: it was resolved already. [CONFLICT_NOT_OPEN]")
        );
        const element = await mount();

        buttons(element, "Keep Salesforce")[0].click();
        await flushPromises();

        expect(resolveConflict).toHaveBeenCalledWith({ conflictId: CONFLICT_ID, choose: "salesforce", value: null });
        expect(text(element, ".resolve-error")).toBe(
            "This conflict is no longer open: it was resolved already. [CONFLICT_NOT_OPEN]"
        );
        expect(text(element, ".conflict-field")).toBe("phone");
        expect(buttons(element, "Keep Salesforce")[0].disabled).toBe(false);
        expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
    });

    it("shows a failed load readably in the card", async () => {
        getStatus.mockRejectedValue(
            apexError("Isthmus is unavailable right now: the store is not reachable. Try again later. [UNAVAILABLE]")
        );

        const element = await mount();

        expect(element.shadowRoot.querySelector("lightning-card")).not.toBeNull();
        const error = element.shadowRoot.querySelector(".load-error");
        expect(error.getAttribute("role")).toBe("alert");
        expect(error.textContent).toBe(
            "Isthmus is unavailable right now: the store is not reachable. Try again later. [UNAVAILABLE]"
        );
        expect(element.shadowRoot.querySelector("lightning-badge")).toBeNull();
    });

    it("loads again on Refresh, clearing an earlier error", async () => {
        getStatus.mockRejectedValueOnce(apexError("Isthmus failed. [INTERNAL]")).mockResolvedValueOnce(linkedAccount());
        const element = await mount();
        expect(element.shadowRoot.querySelector(".load-error")).not.toBeNull();

        element.shadowRoot.querySelector("lightning-button-icon").click();
        await flushPromises();

        expect(getStatus).toHaveBeenCalledTimes(2);
        expect(element.shadowRoot.querySelector(".load-error")).toBeNull();
        expect(element.shadowRoot.querySelector("lightning-badge").label).toBe("Linked");
    });
});
