package dev.resnext.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Plain-text table with the first column left-aligned and the others right-aligned. */
final class TextTable {

    private static final int MAX_CELL = 30;

    private final List<String[]> rows = new ArrayList<>();

    TextTable row(String... cells) {
        rows.add(cells);
        return this;
    }

    /** Fixed 4-decimal number, "n/a" for an undefined (NaN) value; Locale.ROOT keeps the decimal point. */
    static String number(double value) {
        return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.4f", value);
    }

    static String clip(String s) {
        return s.length() <= MAX_CELL ? s : s.substring(0, MAX_CELL - 1) + "~";
    }

    void appendTo(StringBuilder out, String indent) {
        int columns = 0;
        for (String[] r : rows) {
            columns = Math.max(columns, r.length);
        }
        int[] widths = new int[columns];
        for (String[] r : rows) {
            for (int c = 0; c < r.length; c++) {
                widths[c] = Math.max(widths[c], clip(r[c]).length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int c = 0; c < r.length; c++) {
                String cell = clip(r[c]);
                String pad = " ".repeat(widths[c] - cell.length());
                if (c == 0) {
                    line.append(cell).append(pad);
                } else {
                    line.append("  ").append(pad).append(cell);
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
