/**
 * The NetSuite panel on Account and Opportunity record pages.
 *
 * Shows what Isthmus knows of the record: whether it is linked to a NetSuite customer or sales
 * order (with a link to it), its last sync, and its open conflicts; on an opportunity also the
 * order header, shipments and invoices Isthmus keeps in Salesforce. Each load is one imperative
 * call to IsthmusRecordPanelController.getStatus (one gateway callout, never a NetSuite call),
 * so Refresh and a resolved conflict simply load again. Users with the Resolve Isthmus Conflicts
 * custom permission (canResolve) get Keep Salesforce, Keep NetSuite and Use this value on each
 * conflict; the Apex checks the permission again before it calls the gateway.
 */
import { LightningElement, api } from "lwc";
import { ShowToastEvent } from "lightning/platformShowToastEvent";
import { notifyRecordUpdateAvailable } from "lightning/uiRecordApi";
import getStatus from "@salesforce/apex/IsthmusRecordPanelController.getStatus";
import resolveConflict from "@salesforce/apex/IsthmusRecordPanelController.resolveConflict";
import { messageOf } from "c/isthmusErrors";

/** Sync outcomes as the panel words them. */
const OUTCOME_LABELS = {
    created: "Created in NetSuite",
    updated: "Updated",
    unchanged: "Already in step",
    skipped: "Skipped",
    conflict: "Parked on a conflict",
    failed: "Failed"
};

/** A Salesforce record's page, for the rows of the shipments and invoices tables. */
function recordUrl(id) {
    return `/lightning/r/${id}/view`;
}

export default class IsthmusRecordPanel extends LightningElement {
    @api recordId;
    @api objectApiName;

    /** The controller's Panel, once loaded. */
    panel;
    /** Why the panel could not load, in words. */
    loadError;
    /** Why the last resolution failed, in words; the panel itself stays. */
    resolveError;
    loading = false;
    /** The conflict being resolved; every resolve button waits meanwhile. */
    resolvingId;
    /** The text typed for each conflict's "Use this value", by conflict id. */
    typedValues = {};

    connectedCallback() {
        this.load();
    }

    async load() {
        this.loading = true;
        try {
            this.panel = await getStatus({ recordId: this.recordId });
            this.loadError = undefined;
        } catch (error) {
            this.panel = undefined;
            this.loadError = messageOf(error);
        } finally {
            this.loading = false;
        }
    }

    handleRefresh() {
        this.resolveError = undefined;
        this.load();
    }

    get linkLabel() {
        return this.panel.linked ? "Linked" : "Not linked";
    }

    get linkBadgeClass() {
        return this.panel.linked ? "slds-theme_success" : "";
    }

    /** The NetSuite record's name, shown as text when there is no https link to it. */
    get showUnlinkedLabel() {
        return Boolean(this.panel.netsuiteRecordLabel) && !this.panel.netsuiteUrl;
    }

    get lastSyncOutcome() {
        const lastSync = this.panel.lastSync;
        if (!lastSync) {
            return "";
        }
        return OUTCOME_LABELS[lastSync.outcome] || lastSync.outcome;
    }

    get lastSyncFailed() {
        return Boolean(this.panel.lastSync) && this.panel.lastSync.outcome === "failed";
    }

    get canResolve() {
        return this.panel.canResolve === true;
    }

    get resolving() {
        return Boolean(this.resolvingId);
    }

    get conflicts() {
        return (this.panel.conflicts || []).map((conflict) => {
            const typed = this.typedValues[conflict.id] || "";
            return {
                ...conflict,
                typedValue: typed,
                valueLabel: `Value for ${conflict.field} in both systems`,
                useValueDisabled: this.resolving || typed.trim() === ""
            };
        });
    }

    get hasConflicts() {
        return this.conflicts.length > 0;
    }

    get conflictsTitle() {
        return `Open conflicts (${this.conflicts.length})`;
    }

    get salesOrder() {
        return this.panel.salesOrder;
    }

    get shipments() {
        return (this.salesOrder.shipments || []).map((shipment) => ({ ...shipment, url: recordUrl(shipment.id) }));
    }

    get hasShipments() {
        return this.shipments.length > 0;
    }

    get invoices() {
        return (this.salesOrder.invoices || []).map((invoice) => ({ ...invoice, url: recordUrl(invoice.id) }));
    }

    get hasInvoices() {
        return this.invoices.length > 0;
    }

    handleValueChange(event) {
        this.typedValues = { ...this.typedValues, [event.target.dataset.id]: event.detail.value };
    }

    handleKeepSalesforce(event) {
        this.resolve(event.target.dataset.id, "salesforce", null);
    }

    handleKeepNetsuite(event) {
        this.resolve(event.target.dataset.id, "netsuite", null);
    }

    handleUseValue(event) {
        const conflictId = event.target.dataset.id;
        this.resolve(conflictId, "value", this.typedValues[conflictId]);
    }

    /** Resolves one conflict, tells the user, and reloads the panel and the record's fields. */
    async resolve(conflictId, choose, value) {
        this.resolvingId = conflictId;
        this.resolveError = undefined;
        try {
            const resolution = await resolveConflict({ conflictId, choose, value });
            this.dispatchEvent(
                new ShowToastEvent({ title: "Conflict resolved", message: resolution.summary, variant: "success" })
            );
            const stillTyped = { ...this.typedValues };
            delete stillTyped[conflictId];
            this.typedValues = stillTyped;
            // The winning value was written to the record: let the page's other components reload it.
            notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
            await this.load();
        } catch (error) {
            this.resolveError = messageOf(error);
        } finally {
            this.resolvingId = undefined;
        }
    }
}
