// sdd.onnx: export models as ONNX (onnx.ts; the tracer in trace.ts, the graph and its encoding in graph.ts).
export { exportOnnx as export, exportOnnxSync as exportSync, toBytes, type OnnxExportOptions, type OnnxExportResult } from './onnx.js';
export { OnnxExportError } from './trace.js';
export { MIN_OPSET, MAX_OPSET, type ValueSpec } from './graph.js';
