package localaws

import (
	"fmt"
	"net/http"
)

// APIError is an error answered to a client in the shape AWS uses, so that the
// AWS SDKs map it to their typed errors. Fault injection uses it too.
type APIError struct {
	// Type is the short name of the error shape in the service model, such as
	// "QueueDoesNotExist"; the JSON protocol answers it as
	// "com.amazonaws.sqs#<Type>".
	Type string
	// Code is the code of the query protocol (and of the x-amzn-query-error
	// header), such as "AWS.SimpleQueueService.NonExistentQueue".
	Code string
	// Message says what was wrong.
	Message string
	// Status is the HTTP status code; 400 when zero.
	Status int
	// Server marks a fault of the service (Receiver) rather than of the caller.
	Server bool
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func (e *APIError) status() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

func (e *APIError) fault() string {
	if e.Server {
		return "Receiver"
	}
	return "Sender"
}

// sqsErr builds an error of a modeled SQS error shape; code is the query code.
func sqsErr(typ, code, format string, args ...any) *APIError {
	return &APIError{Type: typ, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errors of SQS, named after the shapes of the service model.
func errQueueDoesNotExist() *APIError {
	return sqsErr("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func errInvalidParameterValue(format string, args ...any) *APIError {
	return sqsErr("InvalidParameterValue", "InvalidParameterValue", format, args...)
}

func errMissingParameter(name string) *APIError {
	return sqsErr("MissingParameter", "MissingParameter", "The request must contain the parameter %s.", name)
}

func errInvalidAttributeName(format string, args ...any) *APIError {
	return sqsErr("InvalidAttributeName", "InvalidAttributeName", format, args...)
}

func errInvalidAttributeValue(format string, args ...any) *APIError {
	return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", format, args...)
}

func errReceiptHandleIsInvalid(h string) *APIError {
	return sqsErr("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", h)
}

func errMessageNotInflight() *APIError {
	return sqsErr("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "The message referred to is not in flight.")
}

func errUnsupportedOperation(format string, args ...any) *APIError {
	return sqsErr("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", format, args...)
}

func errInvalidAction(action string) *APIError {
	return &APIError{Type: "InvalidAction", Code: "InvalidAction", Message: fmt.Sprintf("The action or operation requested is invalid: %q.", action)}
}

func errMalformed(format string, args ...any) *APIError {
	return &APIError{Type: "MalformedQueryString", Code: "MalformedQueryString", Message: fmt.Sprintf(format, args...)}
}

// Errors of SNS (query protocol codes).
func snsErr(code string, status int, format string, args ...any) *APIError {
	return &APIError{Type: code, Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func errSNSInvalidParameter(format string, args ...any) *APIError {
	return snsErr("InvalidParameter", 400, "Invalid parameter: "+format, args...)
}

func errSNSNotFound(format string, args ...any) *APIError {
	return snsErr("NotFound", 404, format, args...)
}
