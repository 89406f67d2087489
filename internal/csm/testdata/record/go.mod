module github.com/buildrole/buildrole/internal/csm/testdata/record

go 1.26.8

require github.com/aws/aws-sdk-go v1.44.133

require github.com/jmespath/go-jmespath v0.4.0 // indirect
