#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# Validate an OpenAPI 3 document (api/openapi.yaml) against the OpenAPI
# schema, with JSON::Validator (Debian: libjson-validator-perl).
# Prints every problem; exits 1 if there is any.
use strict;
use warnings;
use JSON::Validator::Schema::OpenAPIv3;

my $path = shift or die "usage: $0 FILE\n";
my $schema = JSON::Validator::Schema::OpenAPIv3->new($path);
my @errors = @{ $schema->errors };
print "$path: $_\n" for @errors;
print "$path: valid OpenAPI ", $schema->specification, "\n" unless @errors;
exit(@errors ? 1 : 0);
