//go:build !unix

package procrun

func kill() int { return 99 }

func waitForSignal() int { return 99 }
