// The rows moved to @cairn/read-models (rows/*.ts): the API builds the same rows for its
// read-your-writes answers without importing the projector (issue 19).
export { experimentRowFromCreated, runRowFromStarted } from '@cairn/read-models';
