/**
 * {@code serve}: a saved model behind an HTTP API and a web page.
 *
 * <p>{@link dev.resnext.serve.ModelServer} is the entry point (a builder, then {@code start}/{@code stop}).
 * Requests are decoded and prepared in the HTTP threads; one worker thread per loaded model runs the
 * network, gathering concurrent requests into batches ({@link dev.resnext.serve.BatchQueue}), because a
 * DL4J graph is not safe for concurrent use and a batch of 16 costs far less than 16 batches of one.
 * Reloading loads the new zip beside the old one, switches atomically and retires the old model when
 * its last request has finished.
 */
package dev.resnext.serve;
