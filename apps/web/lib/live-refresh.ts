/**
 * Turns change pushes into re-reads: `read` runs once per burst, a push that arrives while a
 * read is in flight schedules exactly one more read after it (no push is lost, reads never pile
 * up). Used by pages that re-read a list when its subscription says something changed.
 */
export function coalescedRunner(read: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void read().finally(() => {
      running = false;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}
