package dev.resnext.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The graph being exported, before it becomes protobuf: nodes in topological order, constant
 * tensors (float32 or int64), and the channel count of
 * every activation (which the grouping pass needs). Kept separate from the protobuf classes so
 * that the rewriting passes read as plain Java.
 */
final class OnnxGraph {

    /** One ONNX node. Attribute values are Long, long[], Double or String. */
    static final class Node {
        final String op;
        final String name;
        final List<String> inputs;
        final List<String> outputs;
        final Map<String, Object> attrs = new LinkedHashMap<>();

        Node(String op, String name, List<String> inputs, List<String> outputs) {
            this.op = op;
            this.name = name;
            this.inputs = new ArrayList<>(inputs);
            this.outputs = new ArrayList<>(outputs);
        }

        Node attr(String key, Object value) {
            attrs.put(key, value);
            return this;
        }

        String output() {
            return outputs.get(0);
        }

        long[] ints(String key) {
            return (long[]) attrs.get(key);
        }

        long intAttr(String key, long fallback) {
            Object v = attrs.get(key);
            return v == null ? fallback : (Long) v;
        }
    }

    /** A constant: float32 when {@code floats} is set, else int64 ({@code longs}). */
    static final class Constant {
        final long[] dims;
        float[] floats;
        long[] longs;

        Constant(long[] dims, float[] floats, long[] longs) {
            this.dims = dims;
            this.floats = floats;
            this.longs = longs;
        }

        long count() {
            return floats != null ? floats.length : longs.length;
        }
    }

    final List<Node> nodes = new ArrayList<>();
    final Map<String, Constant> constants = new LinkedHashMap<>();
    final Map<String, Long> channels = new HashMap<>();

    Node add(Node n) {
        nodes.add(n);
        return n;
    }

    String floats(String name, float[] values, long... dims) {
        if (Arrays.stream(dims).reduce(1, (a, b) -> a * b) != values.length) {
            throw new IllegalStateException(name + ": " + values.length + " values for dims " + Arrays.toString(dims));
        }
        constants.put(name, new Constant(dims, values, null));
        return name;
    }

    String longs(String name, long... values) {
        constants.put(name, new Constant(new long[] {values.length}, null, values));
        return name;
    }

    /** The node that produces a tensor (null for the graph input and constants). */
    Node producer(String tensor) {
        for (Node n : nodes) {
            if (n.outputs.contains(tensor)) {
                return n;
            }
        }
        return null;
    }

    /** The nodes that read a tensor. */
    List<Node> consumers(String tensor) {
        List<Node> out = new ArrayList<>();
        for (Node n : nodes) {
            if (n.inputs.contains(tensor)) {
                out.add(n);
            }
        }
        return out;
    }

    /** Points every reader of {@code from} at {@code to}. */
    void rewire(String from, String to) {
        for (Node n : nodes) {
            n.inputs.replaceAll(t -> t.equals(from) ? to : t);
        }
    }

    /** Drops constants no node reads any more. */
    void dropUnusedConstants() {
        java.util.Set<String> used = new java.util.HashSet<>();
        nodes.forEach(n -> used.addAll(n.inputs));
        constants.keySet().retainAll(used);
    }
}
