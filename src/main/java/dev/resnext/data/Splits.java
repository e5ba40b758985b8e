package dev.resnext.data;

import dev.resnext.ResNeXtException;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Reproducible stratified train/validation splits and K-fold partitions, per image or per group
 * (patient): with groups, all images of a group land on the same side. {@link #partition} is the
 * one place that decides a run's validation set.
 */
public final class Splits {
    private Splits() {
    }

    /**
     * The training and validation images of a run.
     *
     * @param train       images to train on
     * @param val         images to validate on
     * @param description where they came from (files, split, fraction, seed, counts), recorded with the model
     */
    public record Partition(ImageSet train, ImageSet val, Map<String, Object> description) {
    }

    /**
     * Chooses the validation set of a run: {@code val} when one is given; else, when
     * {@code useOfficialSplit} and {@code data} has official {@code val} rows (a manifest's split
     * column), those against its {@code train} rows; else {@code fraction} of the data (of its
     * official {@code train} rows when it has them) held out, stratified by {@link ImageSet#strata}
     * and by whole groups (patients) when the data has groups, chosen with {@code seed}.
     *
     * @param val the validation images, or null to choose them from {@code data}
     */
    public static Partition partition(ImageSet data, ImageSet val, boolean useOfficialSplit, double fraction,
                                      long seed) {
        ImageSet train = data;
        Map<String, Object> desc = new LinkedHashMap<>();
        desc.put("train", train.name());
        if (val != null) {
            desc.put("val", val.name());
        } else if (useOfficialSplit && data.split("val") != null) {
            if (data.split("train") == null) {
                throw new ResNeXtException(data.name() + " has no 'train' rows in its split column (splits: "
                        + data.splitNames() + ")");
            }
            val = data.split("val");
            train = data.split("train");
            desc.put("train", train.name());
            desc.put("val", val.name());
            desc.put("split", "official (split column)");
            warnSharedGroups(train, val);
        } else {
            if (data.split("train") != null) {
                train = data.split("train"); // official split without val rows: hold out from its train rows
                desc.put("train", train.name());
            }
            boolean byGroup = train.hasGroups();
            Split s = byGroup ? grouped(train.strata(), groups(train), fraction, seed)
                    : stratified(train.strata(), fraction, seed);
            val = train.subset(s.val(), train.name() + " (held-out " + fraction + ")");
            train = train.subset(s.train(), train.name() + " (training part)");
            desc.put("val", byGroup ? "patient-level stratified split of the training data"
                    : "stratified split of the training data");
            desc.put("valFraction", fraction);
            desc.put("splitSeed", seed);
            desc.put("valItems", s.val().length);
            if (byGroup) {
                desc.put("valGroups", Arrays.stream(groups(val)).distinct().count());
                desc.put("trainGroups", Arrays.stream(groups(train)).distinct().count());
            }
        }
        desc.put("trainImages", train.size());
        desc.put("valImages", val.size());
        desc.put("classCounts", train.classCounts());
        return new Partition(train, val, desc);
    }

    /** The group (patient) of every image of {@code set}; nulls when it has none. */
    public static String[] groups(ImageSet set) {
        String[] g = new String[set.size()];
        for (int i = 0; i < g.length; i++) g[i] = set.group(i);
        return g;
    }

    private static void warnSharedGroups(ImageSet train, ImageSet val) {
        if (!train.hasGroups()) return;
        java.util.Set<String> t = new java.util.HashSet<>(Arrays.asList(groups(train)));
        long shared = Arrays.stream(groups(val)).distinct().filter(t::contains).count();
        if (shared > 0) {
            LoggerFactory.getLogger(Splits.class).warn("{} patients of the official validation split also have "
                    + "training images; validation metrics will be optimistic", shared);
        }
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

    /**
     * Holds out about {@code fraction} of the images, whole groups at a time, with every stratum's
     * share as close to {@code fraction} as the groups allow; the same inputs give the same split.
     *
     * @param strata class (or stratum) of each image, 0..S-1
     * @param groups group of each image (e.g. patient ID); no group is on both sides
     * @throws GroupSplitException when there are fewer than two groups
     */
    public static Split grouped(int[] strata, String[] groups, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in (0, 1), was " + fraction);
        }
        int[] bin = assign(strata, groups, new double[] {1 - fraction, fraction}, seed);
        int nv = 0;
        for (int b : bin) if (b == 1) nv++;
        if (nv == 0 || nv == bin.length) {
            throw new GroupSplitException("cannot hold out whole groups: there are "
                    + new java.util.HashSet<>(Arrays.asList(groups)).size() + " groups; at least 2 are needed", 2, 0);
        }
        int[] train = new int[bin.length - nv];
        int[] val = new int[nv];
        int ti = 0;
        int vi = 0;
        for (int i = 0; i < bin.length; i++) {
            if (bin[i] == 1) val[vi++] = i; else train[ti++] = i;
        }
        return new Split(train, val);
    }

    /**
     * Stratified group K-fold: fold of each image (0..k-1); whole groups per fold, every stratum
     * spread over the folds as evenly as the groups allow.
     *
     * @param groups group of each image, or null for one group per image (plain stratified K-fold)
     * @throws GroupSplitException when a stratum has fewer groups than folds
     */
    public static int[] groupKFold(int[] strata, String[] groups, int k, long seed, java.util.List<String> strataNames) {
        if (k < 2) {
            throw new GroupSplitException("cross-validation needs at least 2 folds, was " + k, k, 0);
        }
        String[] g = groups;
        if (g == null) {
            g = new String[strata.length];
            for (int i = 0; i < g.length; i++) g[i] = Integer.toString(i);
        }
        // every fold must validate every class: a class in fewer groups than folds cannot be spread so
        java.util.Map<Integer, java.util.Set<String>> groupsOf = new java.util.TreeMap<>();
        for (int i = 0; i < strata.length; i++) groupsOf.computeIfAbsent(strata[i], s -> new java.util.HashSet<>()).add(g[i]);
        for (var e : groupsOf.entrySet()) {
            if (e.getValue().size() < k) {
                String name = strataNames != null && e.getKey() < strataNames.size() ? strataNames.get(e.getKey())
                        : e.getKey() == (strataNames == null ? -1 : strataNames.size()) ? "(no finding)" : "" + e.getKey();
                throw new GroupSplitException(k + " folds need at least " + k + " " + (groups == null ? "images"
                        : "groups") + " in every class, but class '" + name + "' has only " + e.getValue().size(), k,
                        e.getValue().size());
            }
        }
        double[] share = new double[k];
        Arrays.fill(share, 1.0 / k);
        return assign(strata, g, share, seed);
    }

    /**
     * Greedy stratified assignment of whole groups to bins with target shares: groups in seeded
     * random order, larger groups first (they are the hardest to place), each to the bin where the
     * squared distance of every stratum's share from the target grows least.
     */
    private static int[] assign(int[] strata, String[] groups, double[] share, long seed) {
        if (strata.length != groups.length) {
            throw new IllegalArgumentException("strata and groups differ in length");
        }
        int s = Arrays.stream(strata).max().orElse(-1) + 1;
        java.util.Map<String, Integer> id = new java.util.LinkedHashMap<>();
        for (String gr : groups) id.putIfAbsent(gr, id.size());
        int ng = id.size();
        int[][] counts = new int[ng][s];
        int[] size = new int[ng];
        int[] total = new int[s];
        for (int i = 0; i < strata.length; i++) {
            int gi = id.get(groups[i]);
            counts[gi][strata[i]]++;
            size[gi]++;
            total[strata[i]]++;
        }
        java.util.List<Integer> order = new ArrayList<>();
        for (int i = 0; i < ng; i++) order.add(i);
        java.util.Collections.shuffle(order, new Random(seed));
        order.sort((a, b) -> Integer.compare(size[b], size[a]));
        int bins = share.length;
        double[][] have = new double[bins][s];
        double[] binSize = new double[bins];
        int[] binOf = new int[ng];
        int n = strata.length;
        for (int gi : order) {
            int best = -1;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int b = 0; b < bins; b++) {
                double cost = 0;
                for (int c = 0; c < s; c++) {
                    if (counts[gi][c] == 0 || total[c] == 0) continue;
                    double before = have[b][c] / total[c] - share[b];
                    double after = (have[b][c] + counts[gi][c]) / total[c] - share[b];
                    cost += after * after - before * before;
                }
                // size balance breaks ties and keeps bins near their share overall
                double sb = binSize[b] / n - share[b];
                double sa = (binSize[b] + size[gi]) / n - share[b];
                cost += 1e-3 * (sa * sa - sb * sb);
                if (cost < bestCost - 1e-15) {
                    bestCost = cost;
                    best = b;
                }
            }
            binOf[gi] = best;
            binSize[best] += size[gi];
            for (int c = 0; c < s; c++) have[best][c] += counts[gi][c];
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = binOf[id.get(groups[i])];
        return out;
    }

    /** Indices with {@code fold[i] == f} as validation and the rest as training. */
    public static Split fold(int[] folds, int f) {
        int nv = 0;
        for (int x : folds) if (x == f) nv++;
        int[] train = new int[folds.length - nv];
        int[] val = new int[nv];
        int ti = 0;
        int vi = 0;
        for (int i = 0; i < folds.length; i++) {
            if (folds[i] == f) val[vi++] = i; else train[ti++] = i;
        }
        return new Split(train, val);
    }
}
