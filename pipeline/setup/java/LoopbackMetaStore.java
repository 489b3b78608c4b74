import java.net.InetSocketAddress;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.hadoop.hive.metastore.api.ThriftHiveMetastore;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransportFactory;

/**
 * Serves the Hive 2.3 metastore (the client version built into Spark) on one address only.
 *
 * HiveMetaStore.main in Hive 2.3 always binds the wildcard address and has no bind-host setting
 * (that arrived in Hive 3), so the lab starts the same handler behind a Thrift server bound to the
 * address given on the command line. Unsecured, like the rest of the loopback-only lab.
 *
 * Usage: LoopbackMetaStore <bind-host> <port>   (hive-site.xml on the classpath)
 */
public final class LoopbackMetaStore {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
        ThriftHiveMetastore.Iface handler =
                HiveMetaStore.newRetryingHMSHandler("loopback metastore", conf, false);
        TServerSocket socket = new TServerSocket(new InetSocketAddress(host, port));
        TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
                .processor(new TSetIpAddressProcessor<>(handler))
                .transportFactory(new TTransportFactory())
                .protocolFactory(new TBinaryProtocol.Factory())
                .minWorkerThreads(4)
                .maxWorkerThreads(64);
        System.out.println("metastore listening on " + host + ":" + port);
        new TThreadPoolServer(serverArgs).serve();
    }
}
