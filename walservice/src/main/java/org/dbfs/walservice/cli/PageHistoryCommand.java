package org.dbfs.walservice.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.bucket.cli.PageAddressOptions;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.protocol.walservice.PageRecordsRequests;
import org.dbfs.protocol.walservice.v1.GetPageRecordsReply;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.PageRecord;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.ReadWalRequest;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;
import org.dbfs.walservice.index.DecodingRecordIndexer;
import org.dbfs.walservice.index.PageRef;
import org.dbfs.walservice.index.RecordFlags;
import org.dbfs.walservice.wal.WalNotAvailableException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code walservice page-history --rel SPC/DB/RELNODE --fork main --block N [--start LSN] [--end LSN]}
 * with {@code --walservice HOST:PORT} or {@code --bucket URL}: the WAL records that touch one page,
 * one line each: {@code LSN END_LSN Rmgr/TYPE [FPW] [INIT] [VM-CLEAR]} (LSNs as pg_waldump prints them;
 * FPW = an image redo applies, INIT = redo initialises the page, VM-CLEAR = a heap record clearing
 * bits on this visibility-map page without referencing it).
 *
 * <p>With {@code --walservice} the running service's per-page index answers (GetPageRecords, fast,
 * complete below its indexed position, which is printed to stderr when the range reaches past it),
 * and each record is fetched (ReadWal) and decoded for its type. Otherwise the archive is scanned
 * with the decoder over [start, end) (default: all of it).
 */
@Command(name = "page-history", mixinStandardHelpOptions = true,
        description = "Lists the WAL records that touch one page, with their types and FPW/INIT flags.")
final class PageHistoryCommand implements Callable<Integer> {
    @Mixin
    BucketOptions bucket;

    @Option(names = "--walservice", paramLabel = "HOST:PORT", description = "ask this running WAL service's index instead of scanning the archive")
    String walservice;

    @Mixin
    PageAddressOptions address;

    @Option(names = "--start", paramLabel = "LSN", description = "records starting at or after this LSN (default: all)")
    String start;

    @Option(names = "--end", paramLabel = "LSN", description = "records starting before this LSN (default: all)")
    String end;

    @Option(names = "--segment-size", defaultValue = "16777216", description = "WAL segment size in bytes, archive scan only (default ${DEFAULT-VALUE})")
    int segmentSize;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        BufferTag page = new BufferTag(address.relTag(spec.commandLine()), address.block(spec.commandLine()));
        try {
            if (walservice != null) {
                fromService(page);
            } else {
                fromArchive(page);
            }
            return 0;
        } catch (WalNotAvailableException e) {
            System.err.println("walservice page-history: error: " + e.getMessage());
            return 1;
        }
    }

    private void fromService(BufferTag page) throws IOException {
        HostPort service = HostPort.parse("--walservice", walservice);
        ManagedChannel channel = NettyChannelBuilder.forAddress(service.host(), service.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        try {
            WalServiceGrpc.WalServiceBlockingStub client = WalServiceGrpc.newBlockingStub(channel);
            Positions pos = client.withDeadlineAfter(30, TimeUnit.SECONDS).getPositions(GetPositionsRequest.getDefaultInstance());
            long from = start == null ? 0 : Lsn.parse(start);
            long to = end == null ? 0 : Lsn.parse(end);
            GetPageRecordsReply reply = client.withDeadlineAfter(60, TimeUnit.SECONDS).getPageRecords(
                    PageRecordsRequests.forPage(page).setFromLsn(from).setToLsn(to).build());
            if (to == 0 || Long.compareUnsigned(reply.getIndexedUpTo(), to) < 0) {
                System.err.println("walservice page-history: the index is complete below " + Lsn.format(reply.getIndexedUpTo())
                        + (pos.getIndexError().isEmpty() ? "" : "; " + pos.getIndexError()));
            }
            for (PageRecord r : reply.getRecordsList()) {
                String type = recordType(client, r.getLsn(), r.getEndLsn(), pos);
                int flags = (r.getHasApplyImage() ? RecordFlags.HAS_APPLY_IMAGE : 0) | (r.getWillInit() ? RecordFlags.WILL_INIT : 0)
                        | (r.getVmClear() ? RecordFlags.VM_CLEAR : 0);
                System.out.println(line(r.getLsn(), r.getEndLsn(), type, flags));
            }
        } finally {
            channel.shutdownNow();
        }
    }

    /** "Rmgr/TYPE" of the record at [lsn, endLsn), read from its page start so the reader can check the page header. */
    private static String recordType(WalServiceGrpc.WalServiceBlockingStub client, long lsn, long endLsn, Positions pos) {
        long from = Lsn.pageStart(lsn);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Iterator<WalChunk> it = client.withDeadlineAfter(60, TimeUnit.SECONDS)
                .readWal(ReadWalRequest.newBuilder().setStartLsn(from).setEndLsn(endLsn).build());
        while (it.hasNext()) {
            bytes.writeBytes(it.next().getData().toByteArray());
        }
        byte[] wal = bytes.toByteArray();
        WalReadResult r = WalReader.atRecord(WalSource.ofBytes(from, wal, wal.length), lsn, pos.getWalSegmentSize(),
                pos.getSystemIdentifier()).next();
        if (r instanceof DecodedRecord rec) {
            return rec.rmgrName() + "/" + rec.recordTypeName();
        }
        return "?(" + ((WalEnd) r).message() + ")";
    }

    private void fromArchive(BufferTag page) {
        try (ArchiveAccess archive = new ArchiveAccess(bucket, segmentSize)) {
            long from = start == null ? archive.catalog.start() : Lsn.parse(start);
            long to = end == null ? archive.catalog.end() : Lsn.parse(end);
            WalReader reader = archive.reader(from, to, segmentSize);
            List<PageRef> refs = new ArrayList<>();
            while (true) {
                WalReadResult r = reader.next();
                if (r instanceof WalEnd e) {
                    if (e.reason() != WalEnd.Reason.NEED_MORE_BYTES) {
                        throw new WalNotAvailableException("the archive's WAL does not decode at " + Lsn.format(e.lsn()) + ": " + e.message());
                    }
                    return;
                }
                DecodedRecord rec = (DecodedRecord) r;
                refs.clear();
                DecodingRecordIndexer.addPageRefs(rec, refs); // as the index sees it: block references and VM clears
                int flags = -1;
                for (PageRef ref : refs) {
                    if (ref.page().equals(page)) {
                        flags = Math.max(flags, 0) | ref.flags();
                    }
                }
                if (flags >= 0) {
                    System.out.println(line(rec.lsn(), rec.endLsn(), rec.rmgrName() + "/" + rec.recordTypeName(), flags));
                }
            }
        }
    }

    static String line(long lsn, long endLsn, String type, int flags) {
        return Lsn.formatPadded(lsn) + " " + Lsn.formatPadded(endLsn) + " " + type
                + ((flags & RecordFlags.HAS_APPLY_IMAGE) != 0 ? " FPW" : "") + ((flags & RecordFlags.WILL_INIT) != 0 ? " INIT" : "")
                + ((flags & RecordFlags.VM_CLEAR) != 0 ? " VM-CLEAR" : "");
    }
}
