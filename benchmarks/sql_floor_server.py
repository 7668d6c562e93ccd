"""The Data API's floor: the least an HTTP front to a SQL engine costs, with the drivers
faaslab's Data API uses (aiomysql, psycopg's AsyncConnection) on uvloop + httptools.

    python sql_floor_server.py PORT mysql|postgresql DB_PORT USER PASSWORD DATABASE

Every request, whatever its body, runs `SELECT name FROM t WHERE id = 1` on one open
connection and answers the row as the Data API would. No signature, no parsing of the
request, no pool, no types: so `Data API latency / floor latency` is the price of what
faaslab adds, and `floor / direct driver` the price of the extra HTTP hop itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiomysql  # type: ignore[import-untyped]
import psycopg
import uvloop
from echo_server import Echo

SQL = "SELECT name FROM t WHERE id = 1"


class SqlFloor(Echo):
    query: Any = None  # async () -> the name

    def on_message_complete(self) -> None:
        asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        name = await SqlFloor.query()
        self.answer(json.dumps({"records": [[{"stringValue": name}]]}).encode())


async def main(port: int, engine: str, db_port: int, user: str, password: str, db: str) -> None:
    if engine == "mysql":
        conn = await aiomysql.connect(
            host="127.0.0.1", port=db_port, user=user, password=password, db=db, autocommit=True
        )
        cur = await conn.cursor()
    else:
        pg = await psycopg.AsyncConnection.connect(
            host="127.0.0.1",
            port=db_port,
            user=user,
            password=password,
            dbname=db,
            autocommit=True,
        )
        cur = pg.cursor()

    async def query() -> Any:
        await cur.execute(SQL)
        return (await cur.fetchall())[0][0]

    SqlFloor.query = query
    server = await asyncio.get_running_loop().create_server(SqlFloor, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    a = sys.argv[1:]
    uvloop.run(main(int(a[0]), a[1], int(a[2]), a[3], a[4], a[5]))
