package dev.resnext.data;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Patient-level splits on a generated set with several images per patient. */
class SplitsGroupTest {
    /** 120 patients with 1 to 6 images each; a patient's images share its class (3 classes, imbalanced). */
    private static int[][] generated(long seed, List<String> groupsOut) {
        Random r = new Random(seed);
        List<Integer> labels = new java.util.ArrayList<>();
        for (int p = 0; p < 120; p++) {
            int cls = p % 10 < 6 ? 0 : p % 10 < 9 ? 1 : 2;
            int images = 1 + r.nextInt(6);
            for (int k = 0; k < images; k++) {
                labels.add(cls);
                groupsOut.add("patient-" + p);
            }
        }
        return new int[][] {labels.stream().mapToInt(Integer::intValue).toArray()};
    }

    @Test
    void groupedHoldOutKeepsEveryPatientOnOneSideAndStratifies() {
        List<String> g = new java.util.ArrayList<>();
        int[] labels = generated(1, g)[0];
        String[] groups = g.toArray(String[]::new);
        Splits.Split s = Splits.grouped(labels, groups, 0.2, 7);
        Set<String> trainGroups = new HashSet<>();
        for (int i : s.train()) trainGroups.add(groups[i]);
        for (int i : s.val()) assertTrue(!trainGroups.contains(groups[i]), groups[i] + " on both sides");
        assertEquals(labels.length, s.train().length + s.val().length);
        double share = s.val().length / (double) labels.length;
        assertTrue(share > 0.15 && share < 0.25, "validation share " + share);
        for (int c = 0; c < 3; c++) {
            int cc = c;
            long inVal = java.util.Arrays.stream(s.val()).filter(i -> labels[i] == cc).count();
            long all = java.util.Arrays.stream(labels).filter(l -> l == cc).count();
            assertTrue(inVal > 0 && Math.abs(inVal / (double) all - 0.2) < 0.1, "class " + c + ": " + inVal + "/" + all);
        }
        Splits.Split again = Splits.grouped(labels, groups, 0.2, 7);
        assertArrayEquals(s.val(), again.val());
    }

    @Test
    void stratifiedGroupKFold() {
        List<String> g = new java.util.ArrayList<>();
        int[] labels = generated(2, g)[0];
        String[] groups = g.toArray(String[]::new);
        int[] folds = Splits.groupKFold(labels, groups, 5, 3, List.of("a", "b", "c"));
        java.util.Map<String, Integer> foldOf = new java.util.HashMap<>();
        int[] sizes = new int[5];
        int[][] perClass = new int[5][3];
        for (int i = 0; i < folds.length; i++) {
            Integer prev = foldOf.putIfAbsent(groups[i], folds[i]);
            assertTrue(prev == null || prev == folds[i], groups[i] + " in two folds");
            sizes[folds[i]]++;
            perClass[folds[i]][labels[i]]++;
        }
        for (int f = 0; f < 5; f++) {
            assertTrue(sizes[f] > labels.length / 5 * 0.7 && sizes[f] < labels.length / 5 * 1.3,
                    "fold " + f + " size " + sizes[f]);
            for (int c = 0; c < 3; c++) assertTrue(perClass[f][c] > 0, "fold " + f + " has no class " + c);
            Splits.Split s = Splits.fold(folds, f);
            assertEquals(labels.length, s.train().length + s.val().length);
        }
    }

    @Test
    void moreFoldsThanTheSmallestClassHasPatientsIsRefused() {
        List<String> g = new java.util.ArrayList<>();
        int[] labels = generated(3, g)[0];
        // class 2 has 12 patients
        GroupSplitException e = assertThrows(GroupSplitException.class,
                () -> Splits.groupKFold(labels, g.toArray(String[]::new), 13, 1, List.of("a", "b", "rare")));
        assertTrue(e.getMessage().contains("class 'rare' has only 12"), e.getMessage());
    }

    /** The one validation-split function: a given set, the official split, or a stratified hold-out. */
    @Test
    void partitionChoosesTheValidationSetOnce() {
        ImageSet all = SyntheticShapes.inMemory(10, 8, 1);
        ImageSet given = SyntheticShapes.inMemory(2, 8, 2);
        Splits.Partition p = Splits.partition(all, given, true, 0.2, 3);
        assertEquals(all, p.train());
        assertEquals(given, p.val());
        assertEquals(8, p.description().get("valImages"));

        Splits.Partition held = Splits.partition(all, null, true, 0.2, 3);
        assertEquals(32, held.train().size());
        assertEquals(8, held.val().size());
        assertEquals(List.of(8, 8, 8, 8), java.util.Arrays.stream(held.train().classCounts()).boxed().toList());
        assertEquals(0.2, held.description().get("valFraction"));
        assertEquals(3L, held.description().get("splitSeed"));
        // the same inputs give the same split
        Splits.Partition again = Splits.partition(all, null, true, 0.2, 3);
        for (int i = 0; i < held.val().size(); i++) {
            assertEquals(held.val().describe(i), again.val().describe(i));
        }
    }
}
