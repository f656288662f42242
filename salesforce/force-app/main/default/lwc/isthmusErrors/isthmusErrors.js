/**
 * What the Isthmus components show when a call fails: the message of an error thrown by an Apex
 * call (an AuraHandledException's body, or a list of them) or by the framework.
 */
export function messageOf(error) {
    if (error && error.body) {
        if (Array.isArray(error.body) && error.body.length > 0) {
            return error.body.map((e) => e.message).join(" ");
        }
        if (typeof error.body.message === "string") {
            return error.body.message;
        }
    }
    if (error && typeof error.message === "string") {
        return error.message;
    }
    return "Something went wrong while talking to Isthmus.";
}
