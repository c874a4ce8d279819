/** Runs a bench entry point: reports a failure, and says so if a handle keeps the process alive after cleanup. */
export function runMain(fn) {
  return fn()
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => {
      setTimeout(() => {
        console.error('bench: process still alive 5 s after cleanup; something did not close');
        process.exit(1);
      }, 5000).unref();
    });
}
