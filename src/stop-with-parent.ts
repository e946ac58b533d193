/**
 * Stops this process (SIGTERM to itself: the app's own clean stop) once its parent is gone. `npm start` runs
 * the app under npm; a supervisor that signals or kills npm alone would otherwise leave the app running,
 * holding the embedded database's lock, and the next start would be refused.
 */
export function stopWithParent(everyMs = 500): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGTERM");
  }, everyMs);
  timer.unref();
}
