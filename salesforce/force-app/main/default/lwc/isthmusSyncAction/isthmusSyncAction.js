/**
 * "Sync to NetSuite" (screen quick action on Account, Opportunity and Quote).
 *
 * Opens on a dry run (what would change in NetSuite, nothing written), syncs when the user
 * confirms, follows a sync the gateway queued (202) until its job finishes, then shows the
 * outcome with a link to the NetSuite record, or the error in plain words with links to the
 * records at fault. All calls go through IsthmusSyncController; the Apex decides which record
 * kind it is from the id.
 */
import { LightningElement, api } from "lwc";
import { CloseActionScreenEvent } from "lightning/actions";
import { notifyRecordUpdateAvailable } from "lightning/uiRecordApi";
import preview from "@salesforce/apex/IsthmusSyncController.preview";
import confirmSync from "@salesforce/apex/IsthmusSyncController.confirmSync";
import checkJob from "@salesforce/apex/IsthmusSyncController.checkJob";
import refreshFinancialSummary from "@salesforce/apex/IsthmusSyncController.refreshFinancialSummary";
import { messageOf } from "c/isthmusErrors";

/** A queued sync is polled every POLL_INTERVAL_MS, at most MAX_POLLS times (2 minutes). */
const POLL_INTERVAL_MS = 2000;
const MAX_POLLS = 60;

const STEP = {
    BUSY: "busy",
    PREVIEW: "preview",
    DONE: "done",
    WAITING: "waiting",
    ERROR: "error"
};

/** Outcomes after which confirming would write nothing. */
const NOTHING_TO_CONFIRM = ["unchanged", "conflict", "skipped", "failed"];

/** An Idempotency-Key for this opening of the action: a repeated click replays the first answer. */
function newIdempotencyKey(recordId) {
    const random = Math.random().toString(36).slice(2, 12);
    return `isthmus-${recordId}-${Date.now().toString(36)}-${random}`;
}

export default class IsthmusSyncAction extends LightningElement {
    step = STEP.BUSY;
    busyText = "Asking Isthmus what would change in NetSuite…";
    /** The last successful SyncResponse from the controller. */
    response;
    /** What went wrong: { message, code, recordsAtFault, retryable, traceId }. */
    failure;
    /** What "Try again" repeats: "preview", "confirm" or "balances". */
    lastAction;
    idempotencyKey;
    pollCount = 0;
    pollTimer;
    connected = false;
    _recordId;

    /** Quick actions set recordId after construction, not before connectedCallback. */
    @api
    get recordId() {
        return this._recordId;
    }
    set recordId(value) {
        const changed = Boolean(value) && value !== this._recordId;
        this._recordId = value;
        if (changed) {
            this.idempotencyKey = newIdempotencyKey(value);
            this.runPreview();
        }
    }

    connectedCallback() {
        this.connected = true;
    }

    disconnectedCallback() {
        this.connected = false;
        this.stopPolling();
    }

    get isBusy() {
        return this.step === STEP.BUSY;
    }

    get isPreview() {
        return this.step === STEP.PREVIEW;
    }

    get isDone() {
        return this.step === STEP.DONE;
    }

    get isWaiting() {
        return this.step === STEP.WAITING;
    }

    get isError() {
        return this.step === STEP.ERROR;
    }

    get summary() {
        return this.response ? this.response.summary : "";
    }

    get changes() {
        return this.response && this.response.changes ? this.response.changes : [];
    }

    get hasChanges() {
        return this.changes.length > 0;
    }

    /** The field-level diff, shown with a preview and with a finished sync. */
    get showChanges() {
        return this.hasChanges && (this.isPreview || this.isDone);
    }

    get warnings() {
        const warnings = this.response && this.response.warnings ? this.response.warnings : [];
        return warnings.map((text, index) => ({ key: String(index), text }));
    }

    get hasWarnings() {
        return this.warnings.length > 0;
    }

    get showWarnings() {
        return this.hasWarnings && (this.isPreview || this.isDone);
    }

    get failureMessage() {
        return this.failure ? this.failure.message : "";
    }

    get matchedRule() {
        const rule = this.response ? this.response.matchedRule : "";
        return rule && rule !== "none" ? rule : "";
    }

    get confirmDisabled() {
        return !this.response || NOTHING_TO_CONFIRM.includes(this.response.outcome);
    }

    get netsuiteUrl() {
        return this.response ? this.response.netsuiteUrl : null;
    }

    get netsuiteLabel() {
        return this.response ? this.response.netsuiteRecordLabel : null;
    }

    /** A NetSuite id without a link: the admin has not set the NetSuite app domain. */
    get showUnlinkedNetsuiteRecord() {
        return Boolean(this.netsuiteLabel) && !this.netsuiteUrl;
    }

    get canRefreshBalances() {
        return (
            this.isDone &&
            Boolean(this.response) &&
            this.response.objectApiName === "Account" &&
            this.lastAction === "confirm"
        );
    }

    get recordsAtFault() {
        const ids = this.failure && this.failure.recordsAtFault ? this.failure.recordsAtFault : [];
        return ids.map((id) => ({ id, url: `/lightning/r/${id}/view` }));
    }

    get hasRecordsAtFault() {
        return this.recordsAtFault.length > 0;
    }

    get canRetry() {
        return this.isError && Boolean(this.failure) && this.failure.retryable === true;
    }

    get traceId() {
        if (this.failure && this.failure.traceId) {
            return this.failure.traceId;
        }
        return this.response ? this.response.traceId : "";
    }

    async runPreview() {
        this.lastAction = "preview";
        this.enterBusy("Asking Isthmus what would change in NetSuite…");
        try {
            const response = await preview({ recordId: this._recordId });
            this.show(response, STEP.PREVIEW);
        } catch (error) {
            this.showThrown(error);
        }
    }

    async handleConfirm() {
        this.lastAction = "confirm";
        this.enterBusy("Syncing to NetSuite…");
        try {
            const response = await confirmSync({
                recordId: this._recordId,
                idempotencyKey: this.idempotencyKey
            });
            this.show(response, STEP.DONE);
        } catch (error) {
            this.showThrown(error);
        }
    }

    async handleRefreshBalances() {
        this.lastAction = "balances";
        this.enterBusy("Reading the account's balances from NetSuite…");
        try {
            const response = await refreshFinancialSummary({ recordId: this._recordId });
            this.show(response, STEP.DONE);
        } catch (error) {
            this.showThrown(error);
        }
    }

    handleRetry() {
        if (this.lastAction === "confirm") {
            this.handleConfirm();
        } else if (this.lastAction === "balances") {
            this.handleRefreshBalances();
        } else {
            this.runPreview();
        }
    }

    handleClose() {
        this.stopPolling();
        this.dispatchEvent(new CloseActionScreenEvent());
    }

    enterBusy(text) {
        this.stopPolling();
        this.failure = undefined;
        this.busyText = text;
        this.step = STEP.BUSY;
    }

    /** Shows a controller answer: an error, a queued job to follow, or the result at `next`. */
    show(response, next) {
        if (!response || !response.ok) {
            this.showFailure(response ? response.error : undefined);
            return;
        }
        if (response.pending) {
            this.busyText = response.summary;
            this.pollCount = 0;
            this.schedulePoll(response.jobId, next);
            return;
        }
        this.response = response;
        this.step = next;
        if (next === STEP.DONE && !response.dryRun) {
            notifyRecordUpdateAvailable([{ recordId: this._recordId }]);
        }
    }

    showFailure(error) {
        this.failure = error
            ? {
                  message: error.message,
                  code: error.code,
                  recordsAtFault: error.recordsAtFault || [],
                  retryable: error.retryable === true,
                  traceId: error.traceId
              }
            : { message: "Isthmus gave no answer.", recordsAtFault: [], retryable: true };
        this.step = STEP.ERROR;
    }

    showThrown(error) {
        this.failure = { message: messageOf(error), recordsAtFault: [], retryable: false };
        this.step = STEP.ERROR;
    }

    schedulePoll(jobId, next) {
        if (!this.connected) {
            return;
        }
        // A queued sync has no push channel back to the page: poll its job on a timer.
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.pollTimer = setTimeout(() => {
            this.pollTimer = undefined;
            this.poll(jobId, next);
        }, POLL_INTERVAL_MS);
    }

    async poll(jobId, next) {
        this.pollCount += 1;
        try {
            const response = await checkJob({ recordId: this._recordId, jobId });
            if (response && response.ok && response.pending) {
                this.busyText = response.summary;
                if (this.pollCount >= MAX_POLLS) {
                    this.response = response;
                    this.step = STEP.WAITING;
                } else {
                    this.schedulePoll(jobId, next);
                }
                return;
            }
            this.show(response, next);
        } catch (error) {
            this.showThrown(error);
        }
    }

    stopPolling() {
        if (this.pollTimer) {
            clearTimeout(this.pollTimer);
            this.pollTimer = undefined;
        }
    }
}
