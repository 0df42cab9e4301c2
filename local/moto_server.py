"""moto server as the platform runs it: the pinned moto, with one fix to its S3 wire format.

moto 5.2.5 answers ListParts with a `<ListPartsResponse>` root element where S3 (and its model)
says `<ListPartsResult>`; boto3 reads either, the Rust SDK only S3's. Every other byte is moto's.
Run it as `.venv/bin/python local/moto_server.py -H 127.0.0.1 -p PORT` (moto_server's arguments).
"""

from moto.core import serialize
from moto.server import main

# Operations whose result element moto names `<Operation>Response` but S3 names otherwise.
S3_RESULT_ELEMENTS = {"ListParts": "ListPartsResult"}

_serialize = serialize.RestXMLSerializer._serialized_result_to_response


def _with_s3_result_element(self, resp, result, shape, serialized_result):
    resp = _serialize(self, resp, result, shape, serialized_result)
    name = self.operation_model.name
    element = S3_RESULT_ELEMENTS.get(name)
    if element and self.operation_model.service_model.endpoint_prefix == "s3":
        body = resp["body"]
        fix = (lambda b: b.replace(f"{name}Response".encode(), element.encode())) if isinstance(body, bytes) else (
            lambda b: b.replace(f"{name}Response", element)
        )
        resp["body"] = fix(body)
    return resp


serialize.RestXMLSerializer._serialized_result_to_response = _with_s3_result_element

if __name__ == "__main__":
    main()
