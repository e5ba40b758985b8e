package dev.resnext.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Reproducible stratified train/validation splits. */
public final class Splits {
    private Splits() {
    }

    /**
     * Indices of a split.
     *
     * @param train indices kept for training, ascending
     * @param val   indices held out for validation, ascending
     */
    public record Split(int[] train, int[] val) {
    }

    /**
     * Holds out {@code fraction} of every class (rounded, at least one image of each class that has
     * two or more), chosen with {@code seed}; the same labels, fraction and seed give the same split.
     */
    public static Split stratified(int[] labels, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in (0, 1), was " + fraction);
        }
        int k = Arrays.stream(labels).max().orElse(-1) + 1;
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < k; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < labels.length; i++) byClass.get(labels[i]).add(i);
        Random rng = new Random(seed);
        boolean[] isVal = new boolean[labels.length];
        for (List<Integer> members : byClass) {
            java.util.Collections.shuffle(members, rng);
            int nVal = (int) Math.round(members.size() * fraction);
            if (nVal == 0 && members.size() >= 2) nVal = 1;
            if (nVal >= members.size()) nVal = members.size() - 1;
            for (int j = 0; j < nVal; j++) isVal[members.get(j)] = true;
        }
        int nv = 0;
        for (boolean b : isVal) if (b) nv++;
        int[] train = new int[labels.length - nv];
        int[] val = new int[nv];
        int ti = 0;
        int vi = 0;
        for (int i = 0; i < labels.length; i++) {
            if (isVal[i]) val[vi++] = i; else train[ti++] = i;
        }
        return new Split(train, val);
    }
}
