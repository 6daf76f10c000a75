// Package awswire is the hand-written runtime under the generated AWS
// codecs in its subpackages (ec2, autoscaling, elbv2, cloudwatch, sts).
//
// The generated code knows each service's shapes and names, as read from
// botocore's models by tools/awsgen; this package knows only the protocols:
// how a query string is read (Decoder), how an XML answer is written
// (Encoder), how errors are enveloped, and what an operation table holds.
// Keeping the protocol rules here and the shape knowledge generated means a
// wire rule is fixed once for every service, and a model change never needs
// hand edits.
package awswire
