"""Builds the control-plane binaries from the Go module proxy, cached outside the repository.

Each component is a small wrapper Go module in this folder. Binaries land in
`<cache>/bin/<component>-<version>-<digest>/`, where the digest covers the wrapper's go.mod
and go.sum, so a changed pin builds anew and an unchanged one is never rebuilt.
"""
