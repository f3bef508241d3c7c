"""An import-linter contract the built-in ones do not offer: no import cycle between any two
modules of the project, imports inside functions included (grimp records those too).

Used from pyproject.toml ([tool.importlinter] contract_types).
"""

import grimp
from importlinter import Contract, ContractCheck, fields, output


class NoModuleCyclesContract(Contract):
    """Every strongly connected group of modules (a cycle of imports) is reported."""

    type_name = "no_module_cycles"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = sorted(
            m for m in graph.modules if any(m == c or m.startswith(c + ".") for c in self.containers)
        )
        edges = {m: sorted(graph.find_modules_directly_imported_by(m) & set(modules)) for m in modules}
        cycles = [sorted(group) for group in _strongly_connected(modules, edges) if len(group) > 1]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for group in check.metadata["cycles"]:
            output.print_error(f"Import cycle between: {', '.join(group)}")
            output.new_line()


def _strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups
