"""An independent gRPC client (grpcio, stubs generated from proto/ by grpcio-tools) against the
orders and catalog services of a running mesh. Run by tests/tests/it/grpc_clients.rs, which starts
the mesh, prepares a won opportunity, and checks the far sides afterwards.

Environment: PROTO_DIR, ORDERS_GRPC, CATALOG_GRPC (host:port), OPPORTUNITY (a won opportunity id),
ITEM (a NetSuite item id the catalog has synced), GRPC_TOKEN (a bearer token the services accept,
sent as `authorization` metadata on every call). Prints one JSON line with what it saw.
"""

import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc


def generate(proto_dir, out_dir):
    files = [
        "isthmus/common/v1/common.proto",
        "isthmus/catalog/v1/catalog.proto",
        "isthmus/orders/v1/orders.proto",
        "isthmus/jobs/v1/jobs.proto",
    ]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    code = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
        + files
    )
    if code != 0:
        raise SystemExit(f"protoc failed with {code}")
    sys.path.insert(0, out_dir)


def error_code(err):
    """The stable Isthmus error code of a failed call (trailing metadata)."""
    for key, value in err.trailing_metadata() or ():
        if key == "isthmus-error-code":
            return value
    return None


def main():
    out = tempfile.mkdtemp(prefix="isthmus-grpc-")
    generate(os.environ["PROTO_DIR"], out)
    from isthmus.common.v1 import common_pb2
    from isthmus.catalog.v1 import catalog_pb2, catalog_pb2_grpc
    from isthmus.orders.v1 import orders_pb2, orders_pb2_grpc
    from isthmus.jobs.v1 import jobs_pb2, jobs_pb2_grpc

    seen = {}
    orders_channel = grpc.insecure_channel(os.environ["ORDERS_GRPC"])
    orders = orders_pb2_grpc.OrderSyncStub(orders_channel)
    opportunity = os.environ["OPPORTUNITY"]
    auth = [("authorization", "Bearer " + os.environ["GRPC_TOKEN"])]
    metadata = auth + [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]

    preview = orders.SyncOpportunity(
        orders_pb2.SyncOpportunityRequest(
            opportunity_id=opportunity, options=common_pb2.SyncOptions(dry_run=True)
        ),
        metadata=metadata,
        timeout=30,
    )
    seen["preview_outcome"] = common_pb2.Outcome.Name(preview.outcome)
    seen["preview_changes"] = len(preview.changes)
    seen["preview_trace"] = preview.trace_id

    created = orders.SyncOpportunity(
        orders_pb2.SyncOpportunityRequest(opportunity_id=opportunity), metadata=auth, timeout=30
    )
    seen["outcome"] = common_pb2.Outcome.Name(created.outcome)
    seen["sales_order"] = created.netsuite_id

    link = orders.GetOrderLink(
        orders_pb2.GetOrderLinkRequest(opportunity_id=opportunity), metadata=auth, timeout=10
    )
    seen["link_sales_order"] = link.sales_order_id

    try:
        orders.SyncOpportunity(
            orders_pb2.SyncOpportunityRequest(opportunity_id="001000000000000"), metadata=auth, timeout=10
        )
        seen["bad_id"] = "accepted"
    except grpc.RpcError as err:
        seen["bad_id"] = [err.code().name, error_code(err)]

    try:
        orders.SyncSalesOrder(
            orders_pb2.SyncSalesOrderRequest(sales_order_id="12 OR 1=1"), metadata=auth, timeout=10
        )
        seen["bad_order_id"] = "accepted"
    except grpc.RpcError as err:
        seen["bad_order_id"] = [err.code().name, error_code(err)]

    depth = jobs_pb2_grpc.JobQueueStub(orders_channel).GetQueueDepth(
        jobs_pb2.GetQueueDepthRequest(), metadata=auth, timeout=10
    )
    seen["orders_dead"] = depth.dead

    catalog = catalog_pb2_grpc.CatalogSyncStub(grpc.insecure_channel(os.environ["CATALOG_GRPC"]))
    product = catalog.GetProductLink(
        catalog_pb2.GetProductLinkRequest(item_id=os.environ["ITEM"]), metadata=auth, timeout=10
    )
    seen["product"] = product.product_id
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
