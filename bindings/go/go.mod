module libfluxstate.invalid/go/fluxstate

go 1.26
