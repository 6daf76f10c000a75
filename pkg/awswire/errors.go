package awswire

import (
	"io"
	"net/http"
)

// ErrorShape is an error as the model declares it (its "error" trait) or
// as AWS documents the common ones: the code clients switch on, the HTTP
// status it is sent with, and whether the caller (Sender) or the service
// (Receiver) is at fault.
type ErrorShape struct {
	Code       string
	HTTPStatus int
	Sender     bool
}

// ClientError is a 400 Sender error with the given code, the shape of the
// common errors AWS does not model per operation (ValidationError,
// MissingParameter, InvalidParameterValue, InvalidInstanceID.NotFound...).
func ClientError(code string) ErrorShape {
	return ErrorShape{Code: code, HTTPStatus: http.StatusBadRequest, Sender: true}
}

// Status is the HTTP status to send the error with; a model that gives
// none means 400 for the caller's faults and 500 for the service's.
func (s ErrorShape) Status() int {
	switch {
	case s.HTTPStatus != 0:
		return s.HTTPStatus
	case s.Sender:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// EncodeQueryError writes the query protocol's error envelope:
//
//	<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>..</Code>
//	<Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>
func EncodeQueryError(w io.Writer, namespace string, shape ErrorShape, message, requestID string) error {
	e := NewEncoder()
	e.OpenNS("ErrorResponse", namespace)
	e.Open("Error")
	faultType := "Receiver"
	if shape.Sender {
		faultType = "Sender"
	}
	e.Text("Type", faultType)
	e.Text("Code", shape.Code)
	e.Text("Message", message)
	e.Close("Error")
	e.Text("RequestId", requestID)
	e.Close("ErrorResponse")
	return e.Flush(w)
}

// EncodeEC2Error writes EC2's error envelope, which differs from the query
// protocol's: no namespace, no fault type, a list of errors, and
// "RequestID" spelt with a capital D.
//
//	<Response><Errors><Error><Code>..</Code><Message>..</Message></Error>
//	</Errors><RequestID>..</RequestID></Response>
func EncodeEC2Error(w io.Writer, shape ErrorShape, message, requestID string) error {
	e := NewEncoder()
	e.Declaration()
	e.Open("Response")
	e.Open("Errors")
	e.Open("Error")
	e.Text("Code", shape.Code)
	e.Text("Message", message)
	e.Close("Error")
	e.Close("Errors")
	e.Text("RequestID", requestID)
	e.Close("Response")
	return e.Flush(w)
}
