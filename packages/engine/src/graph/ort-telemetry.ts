// ONNX Runtime's Linux build carries Microsoft's 1DS telemetry: unless ORT_DISABLE_TELEMETRY is set, every
// process that loads it writes /tmp/mat-debug-<pid>.log and queues events for upload to a host outside
// loopback. The product connects to loopback only, so telemetry is off unless the operator sets the variable.
// Imported before onnxruntime-node (the library reads the variable when it loads).
process.env.ORT_DISABLE_TELEMETRY ??= "1";
