package dev.resnext.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The one block description that the factory builds from and the torchvision importer maps onto. */
class TopologyTest {
    @Test
    void resnext50HasTorchvisionsBlocksAndProjections() {
        Topology t = Topology.of(Presets.resnext50_32x4d());
        assertEquals(16, t.blocks().size());
        assertEquals(7, t.stem().kernel());
        assertEquals(2048, t.head().inChannels());
        for (Topology.Block b : t.blocks()) {
            // torchvision projects the shortcut in the first block of every stage only
            assertEquals(b.index() == 0, b.projects(), b.prefix());
            assertEquals(b.index() == 0 && b.stage() > 1 ? 2 : 1, b.stride(), b.prefix());
            assertEquals(32, b.groups());
            assertEquals(b.width(), b.groups() * b.groupWidth());
        }
        assertEquals("stage2.block0.group07.conv3x3", t.blocks().get(3).groupConv(7));
    }

    @Test
    void everyVertexItNamesIsInTheFactorysGraphAndNoOther() {
        for (ResNeXtConfig c : List.of(Presets.small(), Presets.tiny(),
                Presets.small().toBuilder().cardinality(1).build())) {
            Topology t = Topology.of(c);
            ComputationGraphConfiguration conf = ResNeXtGraphFactory.build(c);
            List<String> names = new ArrayList<>(List.of(t.stem().conv(), t.stem().bn(), t.stem().relu()));
            if (t.stem().pools()) names.add(t.stem().pool());
            for (Topology.Block b : t.blocks()) {
                names.addAll(List.of(b.conv1(), b.bn1(), b.relu1()));
                for (int k = 0; k < b.groups(); k++) names.addAll(List.of(b.split(k), b.groupConv(k)));
                if (b.groups() > 1) names.add(b.merged());
                names.addAll(List.of(b.bn2(), b.relu2(), b.conv3(), b.bn3()));
                if (b.projects()) names.addAll(List.of(b.downsampleConv(), b.downsampleBn()));
                names.addAll(List.of(b.add(), b.output()));
            }
            names.addAll(List.of(t.head().pool(), t.head().fc(), t.head().loss()));
            List<String> graph = new ArrayList<>(conf.getVertices().keySet());
            graph.remove(VertexNames.INPUT);
            assertEquals(names.size(), graph.size(), c.getName());
            assertTrue(graph.containsAll(names), c.getName());
            assertEquals(t.stem().output(), VertexNames.stemOutput(c.getStem()));
        }
    }
}
