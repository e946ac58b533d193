/** The check run name branch protection requires; part of the product's interface. */
export const COMMIT_CHECK_NAME = "Agent Gate";
