/**
 * A loader worker thread: builds the minibatches RoiDataLoader sends it (buildMinibatch, the
 * same code as in-process) and posts them back, transferring the blobs' buffers. Errors are
 * answered with the image they concern, never thrown out of the thread.
 */
import { parentPort, workerData } from 'worker_threads';
import { RoiDataError } from './data_utils';
import { WorkerInit, WorkerReply, WorkerTask, buildMinibatch, transferList } from './loader';

function errorReply(id: number, err: unknown): WorkerReply {
  const e = err instanceof Error ? err : new Error(String(err));
  return { id, ok: false, message: e.message, image: e instanceof RoiDataError ? e.image : null, stack: e.stack };
}

function serve(): void {
  const port = parentPort;
  if (port === null) throw new Error('loader_worker must run in a worker thread');
  const init = workerData as WorkerInit;
  port.on('message', (task: WorkerTask) => {
    buildMinibatch(task, init.cfg, init.aspectCropping).then(
      (minibatch) => {
        const reply: WorkerReply = { id: task.id, ok: true, minibatch };
        port.postMessage(reply, transferList(minibatch));
      },
      (err: unknown) => port.postMessage(errorReply(task.id, err)),
    );
  });
}

serve();
