"""A key holder's own bids, asks and orders, and trading through the same services and rules as
the pages: the same refusals, fees and limits (`limits.ORDERS` counts each order placed,
repriced or cancelled here as on the product page).

Every write that places orders needs an `Idempotency-Key` header: a retry with the same key
and body gets the first answer back (`Idempotent-Replayed: true`) and places nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sneakers_app.db import session_scope
from sneakers_app.public_api import schemas
from sneakers_app.public_api.access import Access, ApiError, reader, trader
from sneakers_app.services import (
    api_requests,
    limits,
    listings,
    market,
    order_views,
    orders,
    saga,
    ticket,
)

router = APIRouter(prefix="/me", tags=["your bids, asks and orders"])
ListingId = Annotated[int, Path(ge=1, le=schemas.MAX_ID)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="8 to 64 letters, digits or _ - . : naming this request; a retry with "
        "the same key and body gets the first answer back.",
    ),
]
Side = Literal["bid", "ask"]


def _error_body(exc: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    return {"error": body}


_FIELDS = {
    "price": "price_cents",
    "size": "variant_id",
    "expiry": "expiry_days",
    "address": "address_id",
    "card": "payment_card_id",
}
"""The services' names of a form's fields, as the API's bodies name them."""
_RETRY = ("book_paused", "engine_unsure", "engine_too_late")
"""Refusals that sending the same request again (the same Idempotency-Key) may mend."""


def _refused(exc: market.MarketError) -> ApiError:
    if exc.reason == "not_found":
        return ApiError(404, "not_found", exc.message)
    if exc.reason in _RETRY:
        return ApiError(503, exc.reason, exc.message, headers={"Retry-After": "5"})
    field = _FIELDS.get(exc.field, exc.field) or None
    return ApiError(422, "order_refused", exc.message, field=field)


def _count_order(access: Access) -> None:
    assert access.caller is not None
    try:
        limits.check(limits.ORDERS, user=access.caller.user_id, ip=access.ip)
    except limits.RateLimited as exc:
        raise ApiError(
            429, "rate_limited", exc.message, headers={"Retry-After": str(exc.retry_after)}
        ) from exc


class _Unkept(Exception):
    """An answer to give but not to keep for retries (a batch with asks a retry may place)."""

    def __init__(self, result: BaseModel) -> None:
        super().__init__("not kept")
        self.result = result


def _kept(status: int) -> bool:
    """Whether a retry gets this answer back: a success or a refusal that a retry would meet
    again; not a limit, a conflict or a fault that waiting may mend."""
    return status < 500 and status not in (409, 429)


def _idempotent(
    access: Access, key: str | None, request_fingerprint: str, work: Callable[[str], Any]
) -> JSONResponse:
    """Run `work(key)` once for this key and request; a retry gets the first answer."""
    assert access.caller is not None
    try:
        key = api_requests.check_key(key)
        with session_scope() as session:
            claim = api_requests.begin(
                session=session,
                user_id=access.caller.user_id,
                key=key,
                fingerprint=request_fingerprint,
            )
    except api_requests.IdempotencyError as exc:
        raise ApiError(exc.status, exc.code, exc.message, field="Idempotency-Key") from exc
    if isinstance(claim, api_requests.Answer):
        return JSONResponse(
            json.loads(claim.body),
            status_code=claim.status,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        result = work(key)
    except _Unkept as unkept:
        with session_scope() as session:
            api_requests.release(session=session, request_id=claim)
        return JSONResponse(unkept.result.model_dump(mode="json"), status_code=201)
    except ApiError as exc:
        if not _kept(exc.status):
            with session_scope() as session:
                api_requests.release(session=session, request_id=claim)
            raise
        status, body = exc.status, _error_body(exc)
    except BaseException:
        with session_scope() as session:
            api_requests.release(session=session, request_id=claim)
        raise
    else:
        status = 201
        body = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    with session_scope() as session:
        api_requests.finish(session=session, request_id=claim, status=status, body=json.dumps(body))
    return JSONResponse(body, status_code=status)


async def _fingerprint(request: Request) -> str:
    return api_requests.fingerprint(request.method, request.url.path, await request.body())


def _placement(side: Side, placed: market.Placed) -> schemas.Placement:
    return schemas.Placement(
        id=placed.row_id,
        side=side,
        status=str(placed.status),
        filled_quantity=placed.filled_quantity,
        resting_quantity=placed.resting_quantity,
        message=placed.message,
    )


def _place_one(access: Access, side: Side, order: schemas.NewListing, client_key: str) -> Any:
    """One bid or ask through the trade ticket's own call (the product page's)."""
    assert access.caller is not None
    if order.immediate and order.expiry_days is not None:
        raise ApiError(
            422,
            "invalid_request",
            "An immediate order trades at once or not at all: it has no expiry.",
            field="expiry_days",
        )
    if side == "ask" and order.payment_card_id is not None:
        raise ApiError(
            422,
            "invalid_request",
            "An ask is paid out, not charged: it takes no card.",
            field="payment_card_id",
        )
    with session_scope() as session:
        again = market.already_placed(
            session=session, user_id=access.caller.user_id, side=side, client_key=client_key
        )
    if again is not None:
        return _placement(side, again)
    _count_order(access)
    kind = ("buy" if order.immediate else "bid") if side == "bid" else "sell"
    if side == "ask" and not order.immediate:
        kind = "ask"
    with session_scope() as session:
        try:
            placed = ticket.place(
                session=session,
                user_id=access.caller.user_id,
                kind=kind,
                variant_id=order.variant_id,
                price_cents=order.price_cents,
                client_key=client_key,
                expiry_days=(
                    market.DEFAULT_EXPIRY_DAYS if order.expiry_days is None else order.expiry_days
                ),
                address_id=order.address_id,
                payment_card_id=order.payment_card_id,
            )
        except market.MarketError as exc:
            session.rollback()
            raise _refused(exc) from exc
    return _placement(side, placed)


def _place_route(side: Side) -> Callable[..., Any]:
    async def place(
        request: Request,
        order: schemas.NewListing,
        idempotency_key: IdempotencyKey = None,
        access: Access = trader,
    ) -> JSONResponse:
        assert access.caller is not None
        user_id = access.caller.user_id
        fingerprint = await _fingerprint(request)
        return await run_in_threadpool(
            _idempotent,
            access,
            idempotency_key,
            fingerprint,
            lambda key: _place_one(
                access, side, order, api_requests.order_key(user_id, key, fingerprint)
            ),
        )

    return place


_PLACE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": schemas.Placement, "description": "Placed (open, filled or cancelled)."},
    422: {"model": schemas.ErrorResponse, "description": "Refused: nothing was placed."},
    503: {"model": schemas.ErrorResponse, "description": "The market is busy: retry."},
}

router.add_api_route(
    "/bids",
    _place_route("bid"),
    methods=["POST"],
    status_code=201,
    response_model=schemas.Placement,
    responses=_PLACE_RESPONSES,
    summary="Place a bid, or Buy Now (immediate)",
)
router.add_api_route(
    "/asks",
    _place_route("ask"),
    methods=["POST"],
    status_code=201,
    response_model=schemas.Placement,
    responses=_PLACE_RESPONSES,
    summary="Place an ask, or Sell Now (immediate)",
)


def _batch(
    access: Access, asks: list[schemas.NewListing], key: str, fingerprint: str
) -> schemas.BatchResult:
    """Each ask on its own, in order. When one was refused for a reason that passes (a limit,
    a paused book), the answer is not kept: the same request sent again places those and
    gives back the asks already placed as they are (each ask's `client_key` is its own)."""
    assert access.caller is not None
    results: list[schemas.BatchItem] = []
    retry = False
    for i, order in enumerate(asks):
        client_key = api_requests.order_key(access.caller.user_id, key, fingerprint, i)
        try:
            placement = _place_one(access, "ask", order, client_key)
        except ApiError as exc:
            retry = retry or not _kept(exc.status)
            results.append(
                schemas.BatchItem(
                    index=i,
                    ok=False,
                    error=schemas.ErrorBody(code=exc.code, message=exc.message, field=exc.field),
                )
            )
        else:
            results.append(schemas.BatchItem(index=i, ok=True, placement=placement))
    placed = sum(1 for r in results if r.ok)
    result = schemas.BatchResult(placed=placed, refused=len(results) - placed, results=results)
    if retry:
        raise _Unkept(result)
    return result


@router.post(
    "/asks/batch",
    status_code=201,
    response_model=schemas.BatchResult,
    summary="Place up to 100 asks: one result each, in order; a refused one stops no other",
)
async def place_asks(
    request: Request,
    batch: schemas.BatchAsks,
    idempotency_key: IdempotencyKey = None,
    access: Access = trader,
) -> JSONResponse:
    fingerprint = await _fingerprint(request)
    return await run_in_threadpool(
        _idempotent,
        access,
        idempotency_key,
        fingerprint,
        lambda key: _batch(access, batch.asks, key, fingerprint),
    )


def _about(label: order_views.VariantLabel) -> dict[str, Any]:
    """The pair a bid, ask or order is for."""
    return {
        "variant_id": label.variant_id,
        "product_slug": label.slug,
        "product_name": label.name,
        "size": label.size,
    }


def _listing(row: listings.OwnListing) -> schemas.ListingOut:
    return schemas.ListingOut(
        **_about(row.product),
        id=row.id,
        side=row.side,
        price_cents=row.price_cents,
        highest_bid_cents=row.highest_bid_cents,
        lowest_ask_cents=row.lowest_ask_cents,
        leads=row.leads,
        paused=row.paused,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def _own(access: Access, side: Side) -> list[schemas.ListingOut]:
    assert access.caller is not None
    with session_scope() as session:
        rows = listings.open_listings(session=session, user_id=access.caller.user_id, side=side)
    return [_listing(r) for r in rows]


@router.get("/bids", response_model=list[schemas.ListingOut], summary="Your open bids")
def my_bids(access: Access = reader) -> list[schemas.ListingOut]:
    return _own(access, "bid")


@router.get("/asks", response_model=list[schemas.ListingOut], summary="Your open asks")
def my_asks(access: Access = reader) -> list[schemas.ListingOut]:
    return _own(access, "ask")


@router.get("/orders", response_model=list[schemas.OrderOut], summary="Your orders, newest first")
def my_orders(
    access: Access = reader,
    role: Annotated[Literal["buying", "selling"] | None, Query()] = None,
) -> list[schemas.OrderOut]:
    assert access.caller is not None
    roles: tuple[Literal["buying", "selling"], ...] = (role,) if role else ("buying", "selling")
    rows: list[order_views.OrderRow] = []
    with session_scope() as session:
        for r in roles:
            rows += order_views.list_orders(session=session, user_id=access.caller.user_id, role=r)
    rows.sort(key=lambda o: (o.created_at, o.id), reverse=True)
    return [
        schemas.OrderOut(
            **_about(o.product),
            id=o.id,
            role=o.role,
            status=o.status,
            status_label=o.status_label,
            price_cents=o.price_cents,
            amount_cents=o.amount_cents,
            amount_label=o.amount_label,
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
        for o in rows
    ]


def _change(access: Access, side: Side, listing_id: int, price_cents: int | None) -> Any:
    assert access.caller is not None
    _count_order(access)
    with session_scope() as session:
        try:
            if price_cents is None:
                market.cancel(
                    session=session, user_id=access.caller.user_id, side=side, row_id=listing_id
                )
                return {"id": listing_id, "side": side, "status": "cancelled"}
            placed = market.edit_price(
                session=session,
                user_id=access.caller.user_id,
                side=side,
                row_id=listing_id,
                price_cents=price_cents,
            )
        except market.MarketError as exc:
            session.rollback()
            raise _refused(exc) from exc
    return _placement(side, placed)


def _change_routes(side: Side) -> None:
    def reprice(
        listing_id: ListingId, body: schemas.Reprice, access: Access = trader
    ) -> schemas.Placement:
        result: schemas.Placement = _change(access, side, listing_id, body.price_cents)
        return result

    def cancel(listing_id: ListingId, access: Access = trader) -> dict[str, Any]:
        result: dict[str, Any] = _change(access, side, listing_id, None)
        return result

    router.add_api_route(
        f"/{side}s/{{listing_id}}",
        reprice,
        methods=["PATCH"],
        response_model=schemas.Placement,
        summary=f"Change your {side}'s price (it goes to the back of its new price's queue)",
    )
    router.add_api_route(
        f"/{side}s/{{listing_id}}",
        cancel,
        methods=["DELETE"],
        summary=f"Cancel your {side}",
    )


_change_routes("bid")
_change_routes("ask")


@router.post(
    "/orders/{order_id}/shipped",
    response_model=schemas.OrderStep,
    summary="Mark your sale shipped to authentication, with the carrier's tracking number",
)
def mark_shipped(
    order_id: ListingId, body: schemas.Shipped, access: Access = trader
) -> schemas.OrderStep:
    assert access.caller is not None
    try:
        with session_scope() as session:
            step = saga.mark_shipped(
                session=session,
                order_id=order_id,
                seller_id=access.caller.user_id,
                tracking=body.tracking_number,
            )
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", "You sold no order with that id.") from exc
    except orders.IllegalTransition as exc:
        raise ApiError(409, "order_refused", exc.message) from exc
    except orders.OrderError as exc:
        raise ApiError(422, "invalid_request", exc.message, field="tracking_number") from exc
    return schemas.OrderStep(order_id=step.order_id, status=step.status, changed=step.changed)
