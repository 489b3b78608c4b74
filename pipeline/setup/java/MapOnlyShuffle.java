import java.nio.ByteBuffer;

import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.apache.hadoop.yarn.server.api.ApplicationTerminationContext;
import org.apache.hadoop.yarn.server.api.AuxiliaryService;

/**
 * The NodeManager's "mapreduce_shuffle" auxiliary service for a cluster whose MapReduce jobs are
 * map-only (the lab's are Sqoop imports).
 *
 * MapReduce's ApplicationMaster names this service in every task container it launches, and the
 * NodeManager refuses a container that names a service it does not have. Hadoop's own ShuffleHandler
 * serves map outputs to reducers on every interface (its Netty server has no bind-address setting), which
 * the loopback-only lab does not allow; this service opens no port at all. It answers the port query
 * with 0, so a job with reducers fails at its first fetch instead of reading anything.
 */
public final class MapOnlyShuffle extends AuxiliaryService {
    public MapOnlyShuffle() {
        super("mapreduce_shuffle");
    }

    @Override
    public void initializeApplication(ApplicationInitializationContext context) {}

    @Override
    public void stopApplication(ApplicationTerminationContext context) {}

    @Override
    public ByteBuffer getMetaData() {
        return ByteBuffer.allocate(4).putInt(0).flip(); // ShuffleHandler.deserializeMetaData reads one int
    }
}
