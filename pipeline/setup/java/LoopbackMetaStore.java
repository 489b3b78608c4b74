import java.net.InetSocketAddress;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.AcidEventListener;
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
 * It also drops Hive's built-in ACID cleanup listener: the lab has no Hive transactional tables
 * (Spark cannot write them) and no transaction schema, and the listener's failure after every
 * DROP DATABASE would close the client's connection although the drop had committed.
 *
 * Usage: LoopbackMetaStore <bind-host> <port>   (hive-site.xml on the classpath)
 */
public final class LoopbackMetaStore {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
        HiveMetaStore.HMSHandler base = new HiveMetaStore.HMSHandler("loopback metastore", conf, false);
        ThriftHiveMetastore.Iface handler = HiveMetaStore.newRetryingHMSHandler(base, conf, false);
        base.getListeners().removeIf(listener -> listener instanceof AcidEventListener);
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
