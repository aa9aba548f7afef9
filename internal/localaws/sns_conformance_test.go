package localaws_test

import "testing"

import (
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

type snsCase struct {
	name string
	run  func(t *testing.T, tg target, c *sns.Client, q *sqs.Client)
}

var snsCases = []snsCase{}
